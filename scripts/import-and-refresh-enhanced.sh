#!/usr/bin/env bash
# Imports existing cloud resources of one project into an environment's Terraform state and
# refreshes it. A thin wrapper: it translates the familiar flags into one `dagger call import`
# so the discovery, the import blocks and the state backup stay in the Dagger module.
set -euo pipefail
# shellcheck source=lib/flags.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/flags.sh"

usage() {
	cat <<'EOF'
Usage: import-and-refresh-enhanced.sh -e ENV -p PROJECT [--dry-run] [--force] [-o DIR] [-h]

Discovers the project's resources by their tags, imports them into ENV's state and writes
imports.tf and the import report to DIR.

  -e, --env ENV          environment: preview, test, staging or prod (required)
  -p, --project PROJECT  project tag value, e.g. myproject (required)
      --dry-run          show what would be imported, change nothing
      --force            import again resources the state already has
  -o, --output DIR       where the results go (default ./import-results)
  -h, --help             show this help

Runs: dagger call import --env=ENV --project=PROJECT [--dry-run] [--force] export --path=DIR
AWS credentials are passed as Dagger secrets when AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
and AWS_SESSION_TOKEN are set.
EOF
}

env_name="" project="" dry_run="" force="" output=./import-results
while [ $# -gt 0 ]; do
	case $1 in
	-e | --env) need_value "$@"; env_name=$2; shift ;;
	-p | --project) need_value "$@"; project=$2; shift ;;
	-o | --output) need_value "$@"; output=$2; shift ;;
	--dry-run) dry_run=--dry-run ;;
	--force) force=--force ;;
	-h | --help) usage; exit 0 ;;
	*) fail "unknown argument: $1" ;;
	esac
	shift
done
check_env "$env_name"
check_project "$project"
check_output "$output"

args=(call)
add_aws_secrets
args+=(import "--env=$env_name" "--project=$project")
[ -z "$dry_run" ] || args+=("$dry_run")
[ -z "$force" ] || args+=("$force")
args+=(export "--path=$output")
exec dagger "${args[@]}"
