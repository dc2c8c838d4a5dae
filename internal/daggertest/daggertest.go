// Package daggertest tests what calls the dagger CLI (the wrapper scripts, the workflow's
// steps) without an engine: a stand-in dagger executable records the call, and [Module]
// checks the call's functions and flags against the module's Go source, so a renamed
// parameter breaks the caller's test rather than a user's run. It sits in the root
// internal/ rather than ci/internal/ because scripts/ uses it too.
package daggertest

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// ExitVar names the variable whose value the stand-in dagger exits with (0 when unset), so
// a test can check that a caller passes dagger's failure on.
const ExitVar = "FAKE_DAGGER_EXIT"

// Fake is a stand-in dagger executable that records its arguments.
type Fake struct {
	// Dir holds the executable named dagger: put it first on the caller's PATH.
	Dir  string
	argv string
}

// NewFake writes a stand-in dagger into a temporary directory. When run it records its
// arguments (NUL-separated, so arguments holding spaces or newlines stay distinct), runs
// the shell lines in then (for example, writing the files the module would export; "" for
// none) and exits with $FAKE_DAGGER_EXIT.
func NewFake(t *testing.T, then string) *Fake {
	t.Helper()
	f := &Fake{Dir: t.TempDir(), argv: filepath.Join(t.TempDir(), "argv")}
	script := "#!/bin/sh\nprintf '%s\\0' \"$@\" > \"$FAKE_DAGGER_ARGV\"\n" + then +
		"\nexit \"${" + ExitVar + ":-0}\"\n"
	if err := os.WriteFile(filepath.Join(f.Dir, "dagger"), []byte(script), 0o755); err != nil {
		t.Fatalf("write the stand-in dagger: %v", err)
	}
	return f
}

// Env returns the variable the stand-in needs in the caller's environment.
func (f *Fake) Env() []string {
	return []string{"FAKE_DAGGER_ARGV=" + f.argv}
}

// Argv returns the arguments of the last call, or nil when dagger was not called.
func (f *Fake) Argv(t *testing.T) []string {
	t.Helper()
	recorded, err := os.ReadFile(f.argv)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("read the stand-in dagger's arguments: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(recorded), "\x00"), "\x00")
}

// Module holds, per function name as the CLI shows it, the flags the function accepts;
// the key "" is the constructor (New).
type Module map[string]map[string]bool

// ReadModule reads the Go source of the Dagger module in dir: New and the exported
// methods of *Infra, with their parameters named as the Go SDK names them.
func ReadModule(dir string) (Module, error) {
	mod := Module{}
	err := eachFunction(dir, func(name string, fd *ast.FuncDecl) {
		params := map[string]bool{}
		for _, p := range fd.Type.Params.List {
			for _, n := range p.Names {
				params[Kebab(n.Name)] = true
			}
		}
		mod[name] = params
	})
	return mod, err
}

// ReadResults reads, per function of the module in dir as the CLI names it, the type of
// its result (e.g. "*dagger.Directory").
func ReadResults(dir string) (map[string]string, error) {
	results := map[string]string{}
	err := eachFunction(dir, func(name string, fd *ast.FuncDecl) {
		if name != "" && fd.Type.Results != nil && len(fd.Type.Results.List) > 0 {
			results[name] = types.ExprString(fd.Type.Results.List[0].Type)
		}
	})
	return results, err
}

// eachFunction calls fn with New (named "") and each exported method of *Infra (named as
// the CLI names it) in the module source in dir.
func eachFunction(dir string, fn func(name string, fd *ast.FuncDecl)) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no module source (*.go) in %s: %v", dir, err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("read module source: %w", err)
		}
		for _, d := range file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || !fd.Name.IsExported() {
				continue
			}
			switch {
			case fd.Recv == nil && fd.Name.Name == "New":
				fn("", fd)
			case fd.Recv != nil && len(fd.Recv.List) == 1 && types.ExprString(fd.Recv.List[0].Type) == "*Infra":
				fn(Kebab(fd.Name.Name), fd)
			}
		}
	}
	return nil
}

// Toolchain is the name `dagger toolchain install` gives the module (pipeline.ModuleName,
// which this package's own tests cannot import: ci/ghactions' tests import this package): a
// call of the module installed as a toolchain names it before the constructor's flags.
const Toolchain = "infra"

// Check checks the words of a `dagger call` after "call": -m and a module address, or the
// toolchain's name, then the constructor's flags, then a function and its flags. What
// follows the first function (export ...) is Dagger's own.
func (m Module) Check(argv []string) error {
	switch {
	case len(argv) >= 2 && argv[0] == "-m":
		argv = argv[2:]
	case len(argv) >= 1 && argv[0] == Toolchain && m[Toolchain] == nil:
		argv = argv[1:]
	}
	var errs []error
	fn := ""
	for _, a := range argv {
		if !strings.HasPrefix(a, "--") {
			if fn != "" {
				break
			}
			fn = a
			if m[fn] == nil {
				errs = append(errs, fmt.Errorf("the module has no function %q", fn))
				break
			}
			continue
		}
		flag, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !m[fn][flag] {
			where := "function " + fn
			if fn == "" {
				where = "constructor"
			}
			errs = append(errs, fmt.Errorf("the module's %s takes no --%s", where, flag))
		}
	}
	return errors.Join(errs...)
}

// Kebab names a Go identifier of the module the way the Dagger CLI (v0.19) shows a function
// or an argument (a toolchain's installed name is strcase.ToKebab's, pipeline.Invocation):
// awsAccessKeyID -> aws-access-key-id, SecurityScan -> security-scan. The engine first camel-cases the name,
// lowering every capital that follows a capital, so an acronym before a word merges with
// it: infracostAPIKey -> infracost-apikey (write infracostApiKey for infracost-api-key).
func Kebab(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && !unicode.IsUpper(rs[i-1]) {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Call is one `dagger ... call ...` command found in a script or a document.
type Call struct {
	Line int      // 1-based line of the text where the command starts
	Argv []string // the words after "call", quotes removed
}

// Calls finds the `dagger ... call ...` commands in shell text (a workflow's run block, a
// README code block): backslash continuations are joined, and each command is cut at a
// shell operator (&&, ||, ;, |) or a comment. Variables stay as written ("$ENVIRONMENT"),
// which a flag check does not need to expand.
func Calls(text string) []Call {
	var calls []Call
	pending, start := "", 0
	for n, line := range strings.Split(text, "\n") {
		if pending == "" {
			start = n + 1
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		cmd := pending + line
		pending = ""
		for _, part := range splitCommands(cmd) {
			words := shellWords(part)
			for i, w := range words {
				if w == "call" && i > 0 && words[0] == "dagger" {
					calls = append(calls, Call{Line: start, Argv: words[i+1:]})
					break
				}
			}
		}
	}
	return calls
}

// splitCommands cuts a command line at &&, || and ; outside quotes.
func splitCommands(s string) []string {
	var parts []string
	quote, last := rune(0), 0
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == ';', (r == '&' || r == '|') && i+1 < len(rs) && rs[i+1] == r:
			parts = append(parts, string(rs[last:i]))
			if r != ';' {
				i++
			}
			last = i + 1
		}
	}
	return append(parts, string(rs[last:]))
}

// shellWords splits a command into words, honouring quotes, leaving out redirections
// (> out.json, 2>&1, < in) and stopping at a comment or a pipe: enough for documentation
// and workflow steps, not a shell.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	quote, inWord, target := rune(0), false, false
	flush := func() {
		if inWord && !target {
			words = append(words, cur.String())
		}
		target = target && !inWord // a redirection's target is the word after it
		cur.Reset()
		inWord = false
	}
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flush()
		case r == '>' || r == '<':
			if strings.Trim(cur.String(), "0123456789&") == "" {
				cur.Reset() // the descriptor of 2> or &>, not a word
				inWord = false
			}
			flush()
			target = true
		case (r == '#' || r == '|') && !inWord:
			flush()
			return words
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return words
}
