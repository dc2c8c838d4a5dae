#!/usr/bin/env bash
# Scans the Terraform code for security problems. A thin wrapper over `dagger call
# security-scan`: the scanners run in their own containers inside the Dagger module.
set -euo pipefail
# shellcheck source=lib/flags.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/flags.sh"

usage() {
	cat <<'EOF'
Usage: security-scan.sh [-e ENV] [-o DIR] [-h]

Runs the security scanners (Checkov, Trivy) on the Terraform code, no cloud access needed,
and writes summary.md, findings.json and results.sarif to DIR. Fails on findings at or
above the environment's severity threshold.

  -e, --env ENV      environment whose threshold applies: preview, test, staging or prod
                     (default: the module's, test)
  -o, --output DIR   where the results go (default ./security-results)
  -h, --help         show this help

Runs: dagger call security-scan [--env=ENV] export --path=DIR
EOF
}

env_name="" output=./security-results
while [ $# -gt 0 ]; do
	case $1 in
	-e | --env) need_value "$@"; env_name=$2; shift ;;
	-o | --output) need_value "$@"; output=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) fail "unknown argument: $1" ;;
	esac
	shift
done
check_env "$env_name" optional
check_output "$output"

# A scan reads code only: no AWS credentials.
args=(call security-scan)
[ -z "$env_name" ] || args+=("--env=$env_name")
args+=(export "--path=$output")
exec dagger "${args[@]}"
