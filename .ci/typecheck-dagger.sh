#!/usr/bin/env bash
# Type-checks the Dagger module in .dagger/ without a Dagger engine.
#
# The engine generates .dagger/internal/dagger (the SDK bound to this module) and
# .dagger/dagger.gen.go when it loads the module; neither is committed. This script copies
# .dagger to a temporary directory and writes stand-ins for both, so that `go vet` sees what
# the engine's compiler would see:
#   - internal/dagger re-exports every exported name of dagger.io/dagger v0.19.10 (the
#     version dagger.json pins), except what module code never gets: the connection options
#     and a Client with Host(), Engine(), Close() and Do(). Client wraps the SDK client and
#     shadows those four with fields, so `dag.Host()` fails here as it fails in the engine.
#   - dagger.gen.go declares `dag`, `main` and the helpers the generated file defines, and a
#     MarshalJSON/UnmarshalJSON pair on every exported type, so a clash is a compile error.
# It also rejects function signatures the engine refuses although Go accepts them (map
# arguments or results on the module's exported methods).
#
# Then it runs the module's own tests (.dagger/*_test.go) in the same copy.
#
# Usage: .ci/typecheck-dagger.sh            (from anywhere in the repository)
# Needs: go, dagger.io/dagger v0.19.10 from the module cache or the module proxy, and for the
# tests terraform, moto_server and python3 on PATH.
set -euo pipefail

readonly DAGGER_SDK_VERSION=v0.19.10

root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
# The tests need the tools .ci/tools.sh builds; use its cache when this runs on its own.
tools_dir="${TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infrapipe-tools}"
for d in "$tools_dir"/*/; do
	case $d in *.tmp/) continue ;; esac
	PATH="${d%/}:$PATH"
done
mod="$work/mod"
mkdir -p "$mod"
# Copy the module without generated files a developer's `dagger develop` may have left.
(cd "$root/.dagger" && tar --exclude=./internal --exclude=./dagger.gen.go -cf - .) | (cd "$mod" && tar -xf -)
# The root module's sums cover the packages ci/ imports; dagger's own are added below.
cp "$root/go.sum" "$mod/go.sum"

cd "$mod"
go mod edit -replace "github.com/infrapipe/infrapipe=$root" -require "dagger.io/dagger@$DAGGER_SDK_VERSION"
go mod download dagger.io/dagger
sdk_dir="$(go list -m -f '{{.Dir}}' dagger.io/dagger)"
module_path="$(go list -m)"

mkdir -p "$work/gen" internal/dagger
cat >"$work/gen/main.go" <<'EOF'
// Command gen writes the stand-ins for the code the Dagger engine generates.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// notForModules are names of dagger.io/dagger that the package generated for a module
// does not have: module code is already connected and cannot open or configure a session.
var notForModules = map[string]bool{
	"Client": true, "ClientOpt": true, "Connect": true, "Request": true, "Response": true,
	"WithWorkdir": true, "WithLogOutput": true, "WithConn": true, "WithVersionOverride": true,
	"WithVerbosity": true, "WithRunnerHost": true, "WithEnvironmentVariable": true,
	// Embedded SDK sources, used by the engine's code generator only.
	"QueryBuilder": true, "Telemetry": true, "EngineConn": true, "GoMod": true, "GoSum": true,
	"GoSDK": true, "GoDagGen": true,
}

func main() {
	sdkDir, modDir := os.Args[1], os.Args[2]
	if err := writeSDK(sdkDir, filepath.Join(modDir, "internal", "dagger", "dagger.gen.go")); err != nil {
		fail(err)
	}
	if err := writeMain(modDir, filepath.Join(modDir, "dagger.gen.go")); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "typecheck-dagger:", err)
	os.Exit(1)
}

func parseDir(fset *token.FileSet, dir string, keep func(os.FileInfo) bool) ([]*ast.File, error) {
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go") && keep(fi)
	}, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", dir, err)
	}
	var files []*ast.File
	for _, p := range pkgs {
		for _, f := range p.Files {
			files = append(files, f)
		}
	}
	return files, nil
}

func writeSDK(sdkDir, out string) error {
	files, err := parseDir(token.NewFileSet(), sdkDir, func(os.FileInfo) bool { return true })
	if err != nil {
		return err
	}
	var types, values, funcs []string
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() && !notForModules[d.Name.Name] {
					if d.Type.TypeParams != nil {
						return fmt.Errorf("generic function %s: teach the stand-in generator about it", d.Name.Name)
					}
					funcs = append(funcs, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() && !notForModules[s.Name.Name] {
							if s.TypeParams != nil {
								return fmt.Errorf("generic type %s: teach the stand-in generator about it", s.Name.Name)
							}
							types = append(types, s.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() && !notForModules[n.Name] {
								values = append(values, n.Name)
							}
						}
					}
				}
			}
		}
	}
	if len(types) < 100 {
		return fmt.Errorf("found only %d exported types in %s: is it dagger.io/dagger?", len(types), sdkDir)
	}
	sort.Strings(types)
	sort.Strings(values)
	sort.Strings(funcs)
	var b strings.Builder
	b.WriteString("// Code generated by .ci/typecheck-dagger.sh. DO NOT EDIT.\n\n")
	b.WriteString("// Package dagger stands in for the SDK package the Dagger engine generates for a module.\n")
	b.WriteString("package dagger\n\nimport sdk \"dagger.io/dagger\"\n\n")
	b.WriteString("// unavailable shadows the methods of the SDK client that a module's client lacks.\n")
	b.WriteString("type unavailable struct{}\n\n")
	b.WriteString("// Client is the module's connection to the engine: no host access, no session control.\n")
	b.WriteString("type Client struct {\n\t*sdk.Client\n\tHost, Engine, Close, Do unavailable\n}\n\n")
	for _, t := range types {
		fmt.Fprintf(&b, "type %s = sdk.%s\n", t, t)
	}
	b.WriteString("\nvar (\n")
	for _, v := range values {
		fmt.Fprintf(&b, "\t%s = sdk.%s\n", v, v)
	}
	for _, fn := range funcs {
		fmt.Fprintf(&b, "\t%s = sdk.%s\n", fn, fn)
	}
	b.WriteString(")\n")
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

// writeMain writes the stand-in for the module's generated dagger.gen.go and checks the
// engine's rules on the module's own exported API.
func writeMain(modDir, out string) error {
	fset := token.NewFileSet()
	files, err := parseDir(fset, modDir, func(fi os.FileInfo) bool { return fi.Name() != "dagger.gen.go" })
	if err != nil {
		return err
	}
	var objects []string
	var problems []string
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.IsExported() {
						if _, isStruct := ts.Type.(*ast.StructType); isStruct {
							objects = append(objects, ts.Name.Name)
						}
					}
				}
			case *ast.FuncDecl:
				if d.Recv == nil || !d.Name.IsExported() {
					continue
				}
				for _, fl := range []*ast.FieldList{d.Type.Params, d.Type.Results} {
					if fl == nil {
						continue
					}
					for _, p := range fl.List {
						if _, isMap := p.Type.(*ast.MapType); isMap {
							problems = append(problems, fmt.Sprintf(".dagger/%s: %s uses a map type, which the engine rejects (unsupported type)", strings.TrimPrefix(fset.Position(d.Pos()).String(), modDir+"/"), d.Name.Name))
						}
					}
				}
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("engine signature rules:\n%s", strings.Join(problems, "\n"))
	}
	sort.Strings(objects)
	var b strings.Builder
	b.WriteString("// Code generated by .ci/typecheck-dagger.sh. DO NOT EDIT.\n\n")
	b.WriteString("package main\n\nimport (\n\t\"context\"\n\n\t\"" + os.Args[3] + "/internal/dagger\"\n)\n\n")
	b.WriteString("var dag *dagger.Client\n\n")
	b.WriteString("func main() {}\n\n")
	b.WriteString("func invoke(ctx context.Context, parentJSON []byte, parentName string, fnName string, inputArgs map[string][]byte) (any, error) {\n\treturn nil, nil\n}\n\n")
	b.WriteString("func ptr[T any](v T) *T { return &v }\n\n")
	b.WriteString("func convertSlice[I any, O any](in []I, f func(I) O) []O { return nil }\n\n")
	for _, o := range objects {
		fmt.Fprintf(&b, "func (r %s) MarshalJSON() ([]byte, error) { return nil, nil }\n\n", o)
		fmt.Fprintf(&b, "func (r *%s) UnmarshalJSON(bs []byte) error { return nil }\n\n", o)
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}
EOF
(cd "$work/gen" && go run main.go "$sdk_dir" "$mod" "$module_path")

echo "== go vet (.dagger against dagger.io/dagger $DAGGER_SDK_VERSION stand-ins)"
go vet ./...

# The check is only worth something if it can fail: each of these must be rejected, as the
# engine's compiler rejects it. They go into the temporary copy only.
echo "== self-check: the stand-ins reject what the engine rejects"
probes=(
	'_ = dag.Host()'                        # no host access from a module
	'_ = dag.Container().From(42)'          # a wrong argument type
	'_ = dag.Container().WithNoSuchThing()' # a method the SDK does not have
	'_ = dag.Close()'                       # no session control from a module
)
for probe in "${probes[@]}"; do
	printf 'package main\n\nfunc typecheckProbe() {\n\t%s\n}\n' "$probe" >zz_typecheck_probe.go
	if go vet . >/dev/null 2>&1; then
		echo "typecheck-dagger: the stand-ins accepted '$probe'; fix the generator in $0" >&2
		exit 1
	fi
done
rm -f zz_typecheck_probe.go

# The module's own tests: its shell scripts with real terraform and moto_server, the tool
# command lines, the constructor options its reproduce lines carry, and the functions'
# pragmas read from the source (never-cached AWS functions, secrets, argument-free checks).
# The engine never runs them; a broken script would only show on a user's machine. (Its
# decisions and the reproduce line's format are ci/pipeline's, tested by go test.)
echo "== go test (.dagger: embedded scripts with terraform and moto_server, tool command lines, pragmas)"
go test -count=1 ./...
echo "ok: .dagger type-checks and its tests pass"
