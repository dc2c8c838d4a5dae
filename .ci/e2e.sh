#!/usr/bin/env bash
# End-to-end tests: real `dagger call` lines against a running Dagger engine
# (internal/e2e, see its doc.go).
#
#   .ci/e2e.sh [ENV_FILE]
#
# ENV_FILE is the file `bash .ci/engine.sh up` prints (it puts dagger on PATH and sets
# INFRAPIPE_ENGINE); without it, this script runs `bash .ci/engine.sh up` itself. Extra go
# test flags can be given in E2E_GO_TEST_FLAGS (e.g. "-run TestLint"). The last line of the
# output is always `e2e: N passed, N failed` (and `, N skipped` when any were skipped), counted
# from the top-level tests; the exit status is non-zero when any test failed or go test did.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1

env_file=${1:-}
if [ -z "$env_file" ]; then
	if ! env_file=$(bash .ci/engine.sh up); then
		echo "e2e: bash .ci/engine.sh up failed: no engine" >&2
		echo "e2e: 0 passed, 1 failed"
		exit 1
	fi
fi
if [ ! -r "$env_file" ]; then
	echo "e2e: cannot read the env file $env_file" >&2
	echo "e2e: 0 passed, 1 failed"
	exit 1
fi
# shellcheck source=/dev/null
. "$env_file"

log=$(mktemp "${TMPDIR:-/tmp}/e2e.XXXXXX")
trap 'rm -f "$log"' EXIT

# shellcheck disable=SC2086 # E2E_GO_TEST_FLAGS is a list of flags
go test -count=1 -v -timeout 60m ${E2E_GO_TEST_FLAGS:-} ./internal/e2e/ 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Top-level results only: subtests are indented ("    --- PASS").
passed=$(grep -c '^--- PASS: ' "$log")
failed=$(grep -c '^--- FAIL: ' "$log")
skipped=$(grep -c '^--- SKIP: ' "$log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	# go test failed without a failing test: a build error, a panic or the timeout.
	failed=1
fi
summary="e2e: $passed passed, $failed failed"
if [ "$skipped" -gt 0 ]; then
	summary="$summary, $skipped skipped"
fi
echo "$summary"
if [ "$failed" -gt 0 ] || [ "$status" -ne 0 ]; then
	exit 1
fi
