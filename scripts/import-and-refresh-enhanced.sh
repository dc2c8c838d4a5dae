#!/usr/bin/env bash
# Imports existing cloud resources of one project into an environment's Terraform state and
# refreshes it. A thin wrapper: it translates the familiar flags into one `dagger call import`
# so the discovery, the import blocks and the state backup stay in the Dagger module.
set -euo pipefail

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

# fail prints the reason and the usage on stderr and exits 2, the usage-error status.
fail() {
	echo "import-and-refresh-enhanced.sh: $1" >&2
	usage >&2
	exit 2
}

env_name="" project="" dry_run="" force="" output=./import-results
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
	-o | --output)
		[ $# -ge 2 ] || fail "$1 needs a value"
		output=$2
		shift 2
		;;
	--dry-run)
		dry_run=--dry-run
		shift
		;;
	--force)
		force=--force
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
# A value starting with '-' is almost always a forgotten argument, not a directory.
[[ -n $output && $output != -* ]] || fail "invalid output directory '$output'"

args=(call import "--env=$env_name" "--project=$project")
[ -z "$dry_run" ] || args+=("$dry_run")
[ -z "$force" ] || args+=("$force")
[ -z "${AWS_ACCESS_KEY_ID:-}" ] || args+=(--aws-access-key-id=env:AWS_ACCESS_KEY_ID)
[ -z "${AWS_SECRET_ACCESS_KEY:-}" ] || args+=(--aws-secret-access-key=env:AWS_SECRET_ACCESS_KEY)
[ -z "${AWS_SESSION_TOKEN:-}" ] || args+=(--aws-session-token=env:AWS_SESSION_TOKEN)
args+=(export "--path=$output")
exec dagger "${args[@]}"
