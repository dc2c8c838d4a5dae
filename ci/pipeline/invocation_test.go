package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestInvocation: a reproduce line reaches the module as the source's dagger.json says it is
// installed, on the files the Dagger CLI wrote; the name is the one dagger.CurrentModule gave
// on the engine in each case.
func TestInvocation(t *testing.T) {
	named := []string{"-m", ModuleAddress, "--source=."}
	tests := []struct {
		name, module, config string // config: a dagger.json file, or "" for none
		want                 []string
	}{
		{"this repository", "infra", "../../dagger.json", nil},
		{"a blueprint", "bp", "testdata/daggerjson/blueprint.json", nil},
		{"a toolchain", "infra", "testdata/daggerjson/toolchain.json", []string{"infra"}},
		{"a toolchain installed under another name", "infra2", "testdata/daggerjson/toolchain-named.json", []string{"infra-2"}},
		{"a repository with a module of its own", "infra", "testdata/daggerjson/own-module.json", named},
		{"a repository without dagger.json", "infra", "", named},
		{"another module's toolchain", "infra", "testdata/daggerjson/toolchain-named.json", named},
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
			if got := Invocation(tt.module, config); !slices.Equal(got, tt.want) {
				t.Errorf("Invocation(%q, %s) = %q, want %q", tt.module, tt.config, got, tt.want)
			}
		})
	}
}

// TestInvocationLine: the words come between `dagger call` and the constructor's options.
func TestInvocationLine(t *testing.T) {
	line := Call(append(Invocation("infra", nil), "--emulate-aws"), "plan").Flag("env", "test").String()
	want := "dagger call -m github.com/infrapipe/infrapipe --source=. --emulate-aws plan --env=test export --path=./plan"
	if line != want {
		t.Errorf("line = %q, want %q", line, want)
	}
}

// FuzzInvocation: whatever the source's dagger.json holds, the line reaches the module in one
// of the three ways, and never with words taken from the file but a toolchain's name, which
// matched the running module's.
func FuzzInvocation(f *testing.F) {
	for _, name := range []string{"blueprint.json", "toolchain.json", "toolchain-named.json", "own-module.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "daggerjson", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add("infra", data)
	}
	f.Add("", []byte(`{"name":""}`))
	f.Add("x", []byte(`{"toolchains":[{"name":"x"}],"name":"x"}`))
	f.Fuzz(func(t *testing.T, module string, config []byte) {
		got := Invocation(module, config)
		switch {
		case got == nil:
		case slices.Equal(got, []string{"-m", ModuleAddress, "--source=."}):
		case len(got) == 1 && module != "" && got[0] != "":
		default:
			t.Fatalf("Invocation(%q, %q) = %q", module, config, got)
		}
	})
}
