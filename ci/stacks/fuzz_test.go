package stacks

import (
	"path"
	"strings"
	"testing"
)

// Whatever the repository's pipeline.yaml holds, a configuration ParseConfig accepts names
// only directories inside the repository and patterns Match can use.
func FuzzParseConfig(f *testing.F) {
	f.Add(layout()["pipeline.yaml"])
	f.Add("version: 1\nstacks:\n  marker: stack.hcl\n  depends_on:\n    a: [b, ./b/, c]\n")
	f.Add("version: 1\nstacks: [a]\n")
	f.Add("version: 1\nstacks:\n  include: ['**/x/**']\n")
	f.Fuzz(func(t *testing.T, data string) {
		c, err := ParseConfig(RepoFile, []byte(data))
		if err != nil {
			return
		}
		if c.Marker == "" || strings.Contains(c.Marker, "/") {
			t.Fatalf("marker %q", c.Marker)
		}
		for stack, deps := range c.DependsOn {
			for _, d := range append([]string{stack}, deps...) {
				if d == "" || path.IsAbs(d) || d == ".." || strings.HasPrefix(d, "../") || d != path.Clean(d) {
					t.Fatalf("depends_on names %q", d)
				}
			}
		}
		for _, p := range append(c.Include, c.Exclude...) {
			if err := checkPattern(p); err != nil {
				t.Fatalf("pattern %q: %v", p, err)
			}
			Match(p, "a/b/c")
		}
	})
}

// Match never fails on any pattern, "**" holds every directory, and a directory without
// pattern characters matches itself.
func FuzzMatch(f *testing.F) {
	f.Add("stacks/*", "stacks/network")
	f.Add("**/testdata/**", "a/testdata/b")
	f.Add("**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/x", strings.Repeat("a/", 40)+"y")
	f.Fuzz(func(t *testing.T, pattern, dir string) {
		Match(pattern, dir)
		if !Match("**", dir) {
			t.Fatalf("** does not match %q", dir)
		}
		clean := path.Clean(dir)
		if !strings.ContainsAny(clean, `*?[\{`) && !strings.HasPrefix(clean, "/") && !strings.HasPrefix(clean, "..") && !Match(clean, clean) {
			t.Fatalf("%q does not match itself", clean)
		}
	})
}
