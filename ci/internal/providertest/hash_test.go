package providertest

import (
	"maps"
	"os"
	"path/filepath"
	"testing"
)

// The cached binary is keyed by hashSources: a change that alters the build must change
// the key (or tests run a stale provider), and one that does not must keep it (or every
// test edit rebuilds for minutes).
func TestHashSources(t *testing.T) {
	base := map[string]string{
		"go.mod":           "module testprovider\n",
		"go.sum":           "x v1.0.0 h1:abc\n",
		"main.go":          "package main\n",
		"tags.go":          "package main\n\nfunc f() {}\n",
		"resource_test.go": "package main\n",
		"README.md":        "notes\n",
	}
	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	want, err := hashSources(write(t, base), "go1.25.0")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(files map[string]string)
		goVer   string
		changes bool
	}{
		{"nothing", func(map[string]string) {}, "go1.25.0", false},
		{"a source", func(f map[string]string) { f["tags.go"] += "func g() {}\n" }, "go1.25.0", true},
		{"a new source", func(f map[string]string) { f["new.go"] = "package main\n" }, "go1.25.0", true},
		{"a renamed source", func(f map[string]string) { f["tag.go"] = f["tags.go"]; delete(f, "tags.go") }, "go1.25.0", true},
		{"go.sum", func(f map[string]string) { f["go.sum"] += "y v1.0.0 h1:def\n" }, "go1.25.0", true},
		{"go.mod", func(f map[string]string) { f["go.mod"] += "go 1.25\n" }, "go1.25.0", true},
		{"the Go version", func(map[string]string) {}, "go1.25.1", true},
		{"a test", func(f map[string]string) { f["resource_test.go"] += "func TestX() {}\n" }, "go1.25.0", false},
		{"a note", func(f map[string]string) { f["README.md"] += "more\n" }, "go1.25.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := maps.Clone(base)
			tt.edit(files)
			got, err := hashSources(write(t, files), tt.goVer)
			if err != nil {
				t.Fatal(err)
			}
			if changed := got != want; changed != tt.changes {
				t.Errorf("key %s (base %s): changed %v, want %v", got, want, changed, tt.changes)
			}
		})
	}
}
