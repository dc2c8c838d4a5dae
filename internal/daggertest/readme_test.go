package daggertest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/pipeline"
)

// TestDocsCalls checks every `dagger call` in the code blocks of the README and the pages
// under docs/ against the module: the guide is a caller too, and a renamed function or flag
// must break this test before it breaks a reader's first command.
func TestDocsCalls(t *testing.T) {
	mod, err := ReadModule("../../.dagger")
	if err != nil {
		t.Fatal(err)
	}
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages in docs/: %v", err)
	}
	total := 0
	for _, page := range append([]string{"../../README.md"}, pages...) {
		calls := readmeCalls(t, page)
		total += len(calls)
		for _, c := range calls {
			if err := mod.Check(c.Argv); err != nil {
				t.Errorf("%s:%d: %s\n%v", strings.TrimPrefix(page, "../../"), c.Line, strings.Join(c.Argv, " "), err)
			}
		}
	}
	if total < 40 {
		t.Fatalf("found only %d dagger calls in the README's and docs' code blocks; the parser is broken", total)
	}
}

// Toolchain is the module's name, which a toolchain is installed by.
func TestToolchainIsTheModulesName(t *testing.T) {
	if Toolchain != pipeline.ModuleName {
		t.Errorf("Toolchain is %q, the module's name %q", Toolchain, pipeline.ModuleName)
	}
}

// TestReproduceLinesSaveResults: the reproduce line of every function that returns a
// directory or a file exports it (pipeline.Saved), as the workflows do, and no other line
// ends with an export that the CLI would refuse.
func TestReproduceLinesSaveResults(t *testing.T) {
	results, err := ReadResults("../../.dagger")
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 10 {
		t.Fatalf("read only %d functions' results", len(results))
	}
	for fn, typ := range results {
		saves := typ == "*dagger.Directory" || typ == "*dagger.File"
		line := pipeline.Call(nil, fn).String()
		if got := strings.Contains(line, " export --path="); got != saves {
			t.Errorf("%s returns %s, and its reproduce line %q exports: %v", fn, typ, line, got)
		}
	}
	for fn := range pipeline.Saved {
		if _, ok := results[fn]; !ok {
			t.Errorf("pipeline.Saved names %q, which is no function of the module", fn)
		}
	}
}

// readmeCalls returns the `dagger ... call ...` commands inside the README's fenced code
// blocks, numbered by their line in the README.
func readmeCalls(t *testing.T, path string) []Call {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []Call
	var block strings.Builder
	inCode, start := false, 0
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := s.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			if inCode {
				for _, c := range Calls(block.String()) {
					c.Line += start
					calls = append(calls, c)
				}
			}
			inCode, start = !inCode, n
			block.Reset()
			continue
		}
		if inCode {
			block.WriteString(line + "\n")
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return calls
}
