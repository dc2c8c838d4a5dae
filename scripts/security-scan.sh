#!/usr/bin/env bash
# Scans the Terraform code for security problems. A thin wrapper over `dagger call
# security-scan`: the scanners run in their own containers inside the Dagger module.
set -euo pipefail

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

# fail prints the reason and the usage on stderr and exits 2, the usage-error status.
fail() {
	echo "security-scan.sh: $1" >&2
	usage >&2
	exit 2
}

env_name="" output=./security-results
while [ $# -gt 0 ]; do
	case $1 in
	-e | --env)
		[ $# -ge 2 ] || fail "$1 needs a value"
		env_name=$2
		shift 2
		;;
	-o | --output)
		[ $# -ge 2 ] || fail "$1 needs a value"
		output=$2
		shift 2
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) fail "unknown argument: $1" ;;
	esac
done

case $env_name in
"" | preview | test | staging | prod) ;;
*) fail "invalid environment '$env_name': valid values are preview, test, staging, prod" ;;
esac
# A value starting with '-' is almost always a forgotten argument, not a directory.
[[ -n $output && $output != -* ]] || fail "invalid output directory '$output'"

args=(call security-scan)
[ -z "$env_name" ] || args+=("--env=$env_name")
args+=(export "--path=$output")
exec dagger "${args[@]}"
