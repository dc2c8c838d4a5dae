#!/usr/bin/env bash
# Checks an environment's plan against the compliance policies. A thin wrapper over `dagger
# call compliance`: the plan and the policy engine run inside the Dagger module.
set -euo pipefail
# shellcheck source=lib/flags.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/flags.sh"

usage() {
	cat <<'EOF'
Usage: validate-compliance.sh -e ENV [-o DIR] [-h]

Plans ENV, evaluates the compliance policies on the plan and writes summary.md,
findings.json and results.sarif to DIR. Fails on violations at or above ENV's threshold.

  -e, --env ENV      environment: preview, test, staging or prod (required)
  -o, --output DIR   where the results go (default ./compliance-results)
  -h, --help         show this help

Runs: dagger call compliance --env=ENV export --path=DIR
AWS credentials are passed as Dagger secrets when AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
and AWS_SESSION_TOKEN are set.
EOF
}

env_name="" output=./compliance-results
while [ $# -gt 0 ]; do
	case $1 in
	-e | --env) need_value "$@"; env_name=$2; shift ;;
	-o | --output) need_value "$@"; output=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) fail "unknown argument: $1" ;;
	esac
	shift
done
check_env "$env_name"
check_output "$output"

args=(call)
add_aws_secrets
args+=(compliance "--env=$env_name")
args+=(export "--path=$output")
exec dagger "${args[@]}"
