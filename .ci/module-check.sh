#!/usr/bin/env bash
# Checks, without a Dagger engine, that the committed module loads the way the engine loads it.
#
# The engine generates .dagger/dagger.gen.go and .dagger/internal/ (not committed) with
# dagger's own code generator, from the schema it gives module SDKs, and then builds the module
# with the committed go.mod and go.sum as they are: it does not tidy. So this script:
#   1. copies what dagger.json uploads (its include list and .dagger) to a temporary directory;
#   2. runs the real codegen of dagger v0.19.10 (built by .ci/engine.sh) on it, with the
#      schema the engine serves modules (.ci/module-schema.json); codegen ends with
#      `go mod tidy`, as `dagger develop` does;
#   3. fails if go.mod or go.sum changed: the committed ones are not what `dagger develop`
#      writes, and the engine would refuse to load the module;
#   4. runs go vet and the module's own tests with -mod=readonly on the real generated code.
#
# With --engine (an engine answers: source the env file of `.ci/engine.sh up` first), it
# checks the real thing instead (steps 2-4 are the offline run's): the engine serves modules the committed schema, and `dagger
# functions` loads the committed module from a clean copy and lists every function it declares.
#
# Usage: .ci/module-check.sh [--engine]            (from anywhere in the repository)
# Needs: go; codegen at $INFRAPIPE_CODEGEN or in the engine harness's cache (built by
# `.ci/engine.sh codegen` when missing); for the tests, the tools of .ci/tools.sh.
# Refresh the schema after an engine upgrade with `.ci/engine.sh schema >.ci/module-schema.json`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

mode=offline
[ "${1:-}" = --engine ] && mode=engine

# 1. What the engine sees: dagger.json's include patterns, the module source, dagger.json.
cd "$root"
mapfile -t include < <(python3 -c 'import json; [print(p) for p in json.load(open("dagger.json"))["include"]]')
pathspecs=(dagger.json .dagger)
for p in "${include[@]}"; do pathspecs+=("${p%/\*\*}"); done
while IFS= read -r -d '' f; do
	[ ! -e "$f" ] || cp --parents "$f" "$work/" # a file deleted but not yet committed is gone
done < <(git ls-files -z --cached --others --exclude-standard -- "${pathspecs[@]}")
rm -rf "$work/.dagger/internal" "$work/.dagger/dagger.gen.go"

if [ "$mode" = offline ]; then
codegen=${INFRAPIPE_CODEGEN:-$(bash "$root/.ci/engine.sh" codegen)}
[ -x "$codegen" ] || { echo "module-check: no codegen at $codegen" >&2; exit 1; }

# 2. The real generated code (and codegen's own go mod tidy).
cd "$work/.dagger"
echo "module-check: codegen on the module (schema .ci/module-schema.json)"
if ! "$codegen" generate-module --introspection-json-path "$root/.ci/module-schema.json" \
	--module-source-path . --module-name "$(python3 -c 'import json; print(json.load(open("../dagger.json"))["name"])')" \
	-o . >"$work/codegen.log" 2>&1; then
	cat "$work/codegen.log" >&2
	echo "module-check: codegen failed on the module: the engine would not load it" >&2
	exit 1
fi

# 3. go.mod and go.sum must already be what dagger develop writes.
status=0
for f in go.mod go.sum; do
	if ! diff -u "$root/.dagger/$f" "$f" >"$work/$f.diff"; then
		echo "module-check: .dagger/$f is not what 'dagger develop' writes (the engine does not tidy; the module would fail to load). Run 'dagger develop' and commit:" >&2
		cat "$work/$f.diff" >&2
		status=1
	fi
done
[ "$status" -eq 0 ] || exit 1

# 4. Vet and test the module on its real generated code, without touching go.mod or go.sum.
echo "module-check: go vet and go test (-mod=readonly) on the generated module"
tools_dir=${TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infrapipe-tools}
for d in "$tools_dir"/*/; do
	case $d in *.tmp/) continue ;; esac
	PATH="${d%/}:$PATH"
done
export GOFLAGS="-buildvcs=false -mod=readonly"
go vet ./...
# The generated client reads its session from these at start-up and connects lazily; the
# module's unit tests never call the engine, and one that did would be refused on port 1.
DAGGER_SESSION_PORT=1 DAGGER_SESSION_TOKEN=offline go test -count=1 ./...

exit 0
fi

# 5. On the engine: the schema it gives modules is the committed one...
echo "module-check: the engine's module schema is .ci/module-schema.json"
bash "$root/.ci/engine.sh" schema 2>/dev/null >"$work/schema.json"
if ! cmp -s "$work/schema.json" "$root/.ci/module-schema.json"; then
	echo "module-check: the engine serves another module schema than .ci/module-schema.json: refresh it with '.ci/engine.sh schema >.ci/module-schema.json'" >&2
	exit 1
fi
# ...and it loads the committed module (a clean copy, without generated code) with every
# function the source declares.
rm -rf "$work/.dagger/internal" "$work/.dagger/dagger.gen.go"
cp "$root/.dagger/go.mod" "$root/.dagger/go.sum" "$work/.dagger/"
echo "module-check: dagger functions on the engine"
dagger -m "$work" functions >"$work/functions.txt" 2>"$work/functions.log" || {
	cat "$work/functions.log" >&2
	echo "module-check: the engine does not load the module" >&2
	exit 1
}
declared=$(sed -n 's/^func (m \*Infra) \([A-Z][A-Za-z]*\)(.*/\1/p' "$root"/.dagger/*.go |
	sed 's/\([a-z0-9]\)\([A-Z]\)/\1-\2/g' | tr '[:upper:]' '[:lower:]' | sort)
listed=$(awk 'NR > 1 && $1 != "" { print $1 }' "$work/functions.txt" | sort)
if [ "$declared" != "$listed" ]; then
	echo "module-check: dagger functions lists other functions than .dagger declares:" >&2
	diff <(echo "$declared") <(echo "$listed") >&2 || true
	exit 1
fi
echo "module-check: the engine loads the module: $(echo "$listed" | wc -l) functions"
