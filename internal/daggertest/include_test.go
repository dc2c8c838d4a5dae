package daggertest

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDaggerJSONIncludeCoversTheModule checks that dagger.json's include uploads every
// directory of this repository that the engine needs to load the module: the packages
// .dagger imports, their dependencies, and what their tests import (`dagger develop` runs
// `go mod tidy`, which follows those tests). A missing directory makes tidy ask the module
// proxy for a package of ours, and the module fails to load for every user.
func TestDaggerJSONIncludeCoversTheModule(t *testing.T) {
	const modPath = "github.com/infrapipe/infrapipe"
	var cfg struct {
		Include []string `json:"include"`
		Source  string   `json:"source"`
	}
	data, err := os.ReadFile("../../dagger.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("dagger.json: %v", err)
	}

	// The root module's packages the Dagger module imports, read from its sources.
	var roots []string
	files, _ := filepath.Glob(filepath.Join("../..", cfg.Source, "*.go"))
	for _, f := range files {
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if strings.HasPrefix(p, modPath+"/") && !slices.Contains(roots, p) {
				roots = append(roots, p)
			}
		}
	}
	if len(roots) == 0 {
		t.Fatalf("found no import of %s in %s: the parser is broken", modPath, cfg.Source)
	}

	// Their dependencies and their tests' imports, as directories of this repository.
	args := append([]string{"list", "-deps", "-test", "-f", "{{.ImportPath}}"}, roots...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	needed := map[string]bool{"go.mod": true, "go.sum": true}
	for _, p := range strings.Fields(string(out)) {
		p, _, _ = strings.Cut(p, " ") // "pkg [pkg.test]"
		p = strings.TrimSuffix(p, ".test")
		if rel, ok := strings.CutPrefix(p, modPath+"/"); ok {
			needed[rel+"/x.go"] = true
		}
	}
	for file := range needed {
		if !included(cfg.Include, file) {
			t.Errorf("dagger.json's include leaves out %s, which the module's build or `go mod tidy` needs", path.Dir(file))
		}
	}
}

// included reports whether a file matches one of dagger.json's include patterns (a path,
// or a directory followed by /**).
func included(patterns []string, file string) bool {
	for _, p := range patterns {
		if dir, ok := strings.CutSuffix(p, "/**"); ok && strings.HasPrefix(file, dir+"/") || p == file {
			return true
		}
	}
	return false
}
