#!/usr/bin/env bash
# Checks an environment's plan against the compliance policies. A thin wrapper over `dagger
# call compliance`: the plan and the policy engine run inside the Dagger module.
set -euo pipefail

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

# fail prints the reason and the usage on stderr and exits 2, the usage-error status.
fail() {
	echo "validate-compliance.sh: $1" >&2
	usage >&2
	exit 2
}

env_name="" output=./compliance-results
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
preview | test | staging | prod) ;;
"") fail "missing -e ENV" ;;
*) fail "invalid environment '$env_name': valid values are preview, test, staging, prod" ;;
esac
# A value starting with '-' is almost always a forgotten argument, not a directory.
[[ -n $output && $output != -* ]] || fail "invalid output directory '$output'"

args=(call compliance "--env=$env_name")
[ -z "${AWS_ACCESS_KEY_ID:-}" ] || args+=(--aws-access-key-id=env:AWS_ACCESS_KEY_ID)
[ -z "${AWS_SECRET_ACCESS_KEY:-}" ] || args+=(--aws-secret-access-key=env:AWS_SECRET_ACCESS_KEY)
[ -z "${AWS_SESSION_TOKEN:-}" ] || args+=(--aws-session-token=env:AWS_SESSION_TOKEN)
args+=(export "--path=$output")
exec dagger "${args[@]}"
