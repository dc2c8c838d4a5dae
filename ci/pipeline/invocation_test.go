package pipeline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/iancoleman/strcase"
)

// TestInvocation: a reproduce line reaches the module as the source's dagger.json says it is
// installed, on the files the Dagger CLI wrote; the name is the one dagger.CurrentModule gave
// on the engine in each case.
func TestInvocation(t *testing.T) {
	named := []string{"-m", ModuleAddress, "--source=."}
	tests := []struct {
		name, module, config string // config: a dagger.json file, or "" for none
		own                  bool   // the source holds this module's code
		want                 []string
	}{
		{"this repository", "infra", "../../dagger.json", true, nil},
		{"a blueprint", "bp", "testdata/daggerjson/blueprint.json", false, nil},
		{"a toolchain", "infra", "testdata/daggerjson/toolchain.json", false, []string{"infra"}},
		{"a toolchain installed under another name", "infra2", "testdata/daggerjson/toolchain-named.json", false, []string{"infra-2"}},
		{"a repository with a module of its own", "infra", "testdata/daggerjson/own-module.json", false, named},
		{"a repository without dagger.json", "infra", "", false, named},
		{"another module's toolchain", "infra", "testdata/daggerjson/toolchain-named.json", false, named},
		// Named with -m, the module runs as infra, which a repository's own module may be
		// called too: only this module's code makes the source its repository.
		{"a repository whose own module is named infra too", "infra", "testdata/daggerjson/own-module-infra.json", false, named},
		{"a blueprint of another module", "bp", "testdata/daggerjson/other-blueprint.json", false, named},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var config []byte
			if tt.config != "" {
				var err error
				if config, err = os.ReadFile(tt.config); err != nil {
					t.Fatal(err)
				}
			}
			if got := Invocation(tt.module, config, tt.own); !slices.Equal(got, tt.want) {
				t.Errorf("Invocation(%q, %s, %v) = %q, want %q", tt.module, tt.config, tt.own, got, tt.want)
			}
		})
	}
}

// ModuleName is dagger.json's name, which toolchains and blueprints are installed by.
func TestModuleName(t *testing.T) {
	data, err := os.ReadFile("../../dagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct{ Name string }
	if err := json.Unmarshal(data, &cfg); err != nil || cfg.Name != ModuleName {
		t.Errorf("dagger.json names the module %q (%v), ModuleName is %q", cfg.Name, err, ModuleName)
	}
}

// TestInvocationLine: the words come between `dagger call` and the constructor's options.
func TestInvocationLine(t *testing.T) {
	line := Call(append(Invocation("infra", nil, false), "--emulate-aws"), "plan").Flag("env", "test").String()
	want := "dagger call -m github.com/infrapipe/infrapipe --source=. --emulate-aws plan --env=test export --path=./plan"
	if line != want {
		t.Errorf("line = %q, want %q", line, want)
	}
}

// FuzzInvocation: whatever the source's dagger.json holds, the line reaches the module in one
// of the three ways, and never with a word taken from the file but a toolchain's name, which
// is the running module's.
func FuzzInvocation(f *testing.F) {
	for _, name := range []string{"blueprint.json", "toolchain.json", "toolchain-named.json", "own-module.json", "own-module-infra.json", "other-blueprint.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "daggerjson", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add("infra", data)
	}
	f.Add("", []byte(`{"name":""}`))
	f.Add("x", []byte(`{"toolchains":[{"name":"x"}],"name":"x"}`))
	f.Fuzz(func(t *testing.T, module string, config []byte) {
		got := Invocation(module, config, false)
		switch {
		case got == nil:
		case slices.Equal(got, []string{"-m", ModuleAddress, "--source=."}):
		case len(got) == 1 && got[0] == strcase.ToKebab(module) && installs(config, module):
		default:
			t.Fatalf("Invocation(%q, %q) = %q", module, config, got)
		}
	})
}

// installs reports whether a dagger.json installs a toolchain named name.
func installs(config []byte, name string) bool {
	var cfg struct{ Toolchains []struct{ Name string } }
	return json.Unmarshal(config, &cfg) == nil && slices.ContainsFunc(cfg.Toolchains, func(t struct{ Name string }) bool { return t.Name == name })
}
