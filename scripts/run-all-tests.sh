#!/usr/bin/env bash
# Runs the post-deployment tests of one environment and saves the JUnit report. A thin
# wrapper over `dagger call ... test ... export`: the checks themselves live in the Dagger module.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: run-all-tests.sh -e ENV -p PROJECT -r REGION [--skip-destructive] [-o DIR] [-h]

Tests the deployed environment (resources present, health endpoints, monitoring) and writes
the results, including junit.xml, to DIR.

  -e, --env ENV          environment: preview, test, staging or prod (required)
  -p, --project PROJECT  project tag value, e.g. myproject (required)
  -r, --region REGION    AWS region, e.g. eu-west-1 (required)
      --skip-destructive skip tests that create or delete resources
  -o, --output DIR       where the results go (default ./test-results)
  -h, --help             show this help

Runs: dagger call --region=REGION test --env=ENV --project=PROJECT [--skip-destructive]
      export --path=DIR
AWS credentials are passed as Dagger secrets when AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
and AWS_SESSION_TOKEN are set.
EOF
}

# fail prints the reason and the usage on stderr and exits 2, the usage-error status.
fail() {
	echo "run-all-tests.sh: $1" >&2
	usage >&2
	exit 2
}

env_name="" project="" region="" skip_destructive="" output=./test-results
while [ $# -gt 0 ]; do
	case $1 in
	-e | --env)
		[ $# -ge 2 ] || fail "$1 needs a value"
		env_name=$2
		shift 2
		;;
	-p | --project)
		[ $# -ge 2 ] || fail "$1 needs a value"
		project=$2
		shift 2
		;;
	-r | --region)
		[ $# -ge 2 ] || fail "$1 needs a value"
		region=$2
		shift 2
		;;
	-o | --output)
		[ $# -ge 2 ] || fail "$1 needs a value"
		output=$2
		shift 2
		;;
	--skip-destructive)
		skip_destructive=--skip-destructive
		shift
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
[ -n "$project" ] || fail "missing -p PROJECT"
[[ $project =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] ||
	fail "invalid project '$project': use letters, digits, '.', '_' and '-'"
[ -n "$region" ] || fail "missing -r REGION"
[[ $region =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] ||
	fail "invalid region '$region': expected a region name such as eu-west-1"
# A value starting with '-' is almost always a forgotten argument, not a directory.
[[ -n $output && $output != -* ]] || fail "invalid output directory '$output'"

# The region is a module (constructor) option: it sets the providers, backend and discovery.
args=(call "--region=$region" test "--env=$env_name" "--project=$project")
[ -z "$skip_destructive" ] || args+=("$skip_destructive")
[ -z "${AWS_ACCESS_KEY_ID:-}" ] || args+=(--aws-access-key-id=env:AWS_ACCESS_KEY_ID)
[ -z "${AWS_SECRET_ACCESS_KEY:-}" ] || args+=(--aws-secret-access-key=env:AWS_SECRET_ACCESS_KEY)
[ -z "${AWS_SESSION_TOKEN:-}" ] || args+=(--aws-session-token=env:AWS_SESSION_TOKEN)
args+=(export "--path=$output")
exec dagger "${args[@]}"
