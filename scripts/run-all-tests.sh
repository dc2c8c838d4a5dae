#!/usr/bin/env bash
# Runs the post-deployment tests of one environment and saves the JUnit report. A thin
# wrapper over `dagger call ... test ... export`: the checks themselves live in the Dagger module.
set -euo pipefail
# shellcheck source=lib/flags.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/flags.sh"

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

env_name="" project="" region="" skip_destructive="" output=./test-results
while [ $# -gt 0 ]; do
	case $1 in
	-e | --env) need_value "$@"; env_name=$2; shift ;;
	-p | --project) need_value "$@"; project=$2; shift ;;
	-r | --region) need_value "$@"; region=$2; shift ;;
	-o | --output) need_value "$@"; output=$2; shift ;;
	--skip-destructive) skip_destructive=--skip-destructive ;;
	-h | --help) usage; exit 0 ;;
	*) fail "unknown argument: $1" ;;
	esac
	shift
done
check_env "$env_name"
check_project "$project"
check_region "$region"
check_output "$output"

# The region and the credentials are module (constructor) options.
args=(call "--region=$region")
add_aws_secrets
args+=(test "--env=$env_name" "--project=$project")
[ -z "$skip_destructive" ] || args+=("$skip_destructive")
args+=(export "--path=$output")
exec dagger "${args[@]}"
