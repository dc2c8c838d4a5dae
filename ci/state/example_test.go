package state

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// exampleDir is the repository's example stack, which the README and docs/ document.
const exampleDir = "../../terraform"

// settingLine reads `key = value` from .tfbackend and .tfvars files, which are flat.
var settingLine = regexp.MustCompile(`^\s*([a-z_]+)\s*=\s*(.+?)\s*$`)

func readSettings(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if m := settingLine.FindStringSubmatch(line); m != nil {
			out[m[1]] = m[2]
		}
	}
	return out
}

// TestExampleBackendsMatchPipelineConfig keeps the checked-in backend files (what a human
// runs terraform init with) and pipeline.yaml (what the pipeline renders) on the same
// state objects, and both valid: a drift between them is two states for one environment.
func TestExampleBackendsMatchPipelineConfig(t *testing.T) {
	cfg, err := environment.LoadDir(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	backends := map[environment.Name]environment.Backend{}
	for _, env := range environment.Names {
		p, err := cfg.Profile(string(env))
		if err != nil {
			t.Fatal(err)
		}
		backends[env] = p.Backend
		// What the pipeline checks before init passes on the example's own files.
		read := func(name string) ([]byte, bool, error) {
			data, err := os.ReadFile(filepath.Join(exampleDir, filepath.FromSlash(name)))
			if os.IsNotExist(err) {
				return nil, false, nil
			}
			return data, err == nil, err
		}
		if err := CheckBackendFiles(env, p.Backend, read, "."); err != nil {
			t.Errorf("%s: %v", env, err)
		}

		file := filepath.Join(exampleDir, "environments", string(env)+".s3.tfbackend")
		got := readSettings(t, file)
		want := map[string]string{}
		for _, s := range BackendSettings(p.Backend, Endpoints{}) {
			want[s.Key] = s.Value
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %s, pipeline.yaml gives %s", file, k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: %s is set but pipeline.yaml does not set it", file, k)
			}
		}

		vars := readSettings(t, filepath.Join(exampleDir, p.VarFile))
		if vars["environment"] != quote(string(env)) {
			t.Errorf("%s: environment = %s, want %q", p.VarFile, vars["environment"], env)
		}
		wantProtection := "false"
		if env == environment.Prod {
			wantProtection = "true"
		}
		if vars["deletion_protection"] != wantProtection {
			t.Errorf("%s: deletion_protection = %s, want %s", p.VarFile, vars["deletion_protection"], wantProtection)
		}
	}
	if err := ValidateBackends(backends); err != nil {
		t.Errorf("pipeline.yaml backends: %v", err)
	}
}
