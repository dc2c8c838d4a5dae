# shellcheck shell=bash
# What the wrapper scripts share, sourced by each: the usage error, flag values, the checks
# of the values they have in common, and the AWS credentials as Dagger secrets. Checking
# here means bad input stops with exit 2 and the usage before anything reaches dagger.
# The sourcing script defines usage().

# fail prints the reason and the usage on stderr and exits 2, the usage-error status.
fail() {
	echo "${0##*/}: $1" >&2
	usage >&2
	exit 2
}

# need_value "$@" fails unless the flag in $1 is followed by its value.
need_value() {
	[ $# -ge 2 ] || fail "$1 needs a value"
}

# check_env NAME fails unless NAME is an environment the module knows. An empty NAME is
# allowed only when a second argument, "optional", says so.
check_env() {
	case $1 in
	preview | test | staging | prod) ;;
	"") [ "${2:-}" = optional ] || fail "missing -e ENV" ;;
	*) fail "invalid environment '$1': valid values are preview, test, staging, prod" ;;
	esac
}

# check_project NAME fails unless NAME is a plain tag value: nothing a shell or a tag
# filter would read as syntax.
check_project() {
	[ -n "$1" ] || fail "missing -p PROJECT"
	[[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] ||
		fail "invalid project '$1': use letters, digits, '.', '_' and '-'"
}

# check_region NAME fails unless NAME looks like an AWS region name.
check_region() {
	[ -n "$1" ] || fail "missing -r REGION"
	[[ $1 =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] ||
		fail "invalid region '$1': expected a region name such as eu-west-1"
}

# check_output DIR fails on an empty DIR or one starting with '-': that is almost always a
# forgotten argument, not a directory.
check_output() {
	[[ -n $1 && $1 != -* ]] || fail "invalid output directory '$1'"
}

# add_aws_secrets appends to the caller's args array the module (constructor) flags that
# pass each AWS credential that is set as a Dagger secret (env:NAME), never as a value.
add_aws_secrets() {
	local name flag
	for name in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN; do
		flag=${name,,} # aws_access_key_id
		[ -z "${!name:-}" ] || args+=("--${flag//_/-}=env:$name")
	done
}
