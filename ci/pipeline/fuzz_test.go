package pipeline

import (
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/commands"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// Whatever terraform fmt's diff holds, fmtDiffWithout only leaves out whole lines, leaves
// a diff alone when it drops nothing, and dropping every file leaves only what came before
// the first file's part.
func FuzzFmtDiffWithout(f *testing.F) {
	dir := f.TempDir()
	tftest.WriteFiles(f, dir, map[string]string{
		"main.tf":                 "resource \"terraform_data\" \"a\" {\ninput=\"x\"\n}\n",
		"stacks/network/main.tf":  "terraform {\nbackend \"s3\" {}\n}",
		"modules/m/with space.tf": "locals {\n   a=1\n}\n",
	})
	_, _, diff := execIn(f, dir, commands.FmtCheck()...) // the real diff, as the module reads it
	f.Add(diff, "stacks/")
	f.Add("Warning: a line before\n"+diff, "")
	f.Add("a\n--- old/a\n+++ new/a\na\n--- old/a\n+++ new/a\n", "a")
	f.Fuzz(func(t *testing.T, diff, prefix string) {
		if got := fmtDiffWithout(diff, func(string) bool { return false }); got != diff {
			t.Fatalf("dropping nothing changed the diff:\n%q\nto\n%q", diff, got)
		}
		in := strings.SplitAfter(diff, "\n")
		got := fmtDiffWithout(diff, func(name string) bool { return strings.HasPrefix(name, prefix) })
		i := 0
		for _, l := range strings.SplitAfter(got, "\n") {
			if l == "" { // after the last newline
				continue
			}
			for i < len(in) && in[i] != l {
				i++
			}
			if i == len(in) {
				t.Fatalf("line %q is not one of the diff's, in order:\n%q\n%q", l, diff, got)
			}
			i++
		}
		preamble := diff
		for j := range in {
			if _, ok := fmtDiffStart(in[j:]); ok {
				preamble = strings.Join(in[:j], "")
				break
			}
		}
		if got := fmtDiffWithout(diff, func(string) bool { return true }); got != preamble {
			t.Fatalf("dropping every file left %q, want %q", got, preamble)
		}
	})
}
