package ghactions

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// The workflow is this package's caller: these tests hold it to the rules actionlint does
// not check (no expression in a script, least privilege, pins matching the module).

const workflowDir = "../../.github/workflows"

type workflowFile struct {
	On struct {
		WorkflowDispatch struct {
			Inputs map[string]struct {
				Type    string   `yaml:"type"`
				Options []string `yaml:"options"`
				Default any      `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"workflow_dispatch"`
	} `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]job    `yaml:"jobs"`
}

type job struct {
	If          string            `yaml:"if"`
	Uses        string            `yaml:"uses"`
	With        map[string]any    `yaml:"with"`
	Needs       any               `yaml:"needs"`
	Permissions map[string]string `yaml:"permissions"`
	Concurrency struct {
		Group            string `yaml:"group"`
		CancelInProgress bool   `yaml:"cancel-in-progress"`
	} `yaml:"concurrency"`
	Environment string `yaml:"environment"`
	Steps       []step `yaml:"steps"`
}

type step struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
}

func readWorkflow(t *testing.T, name string) workflowFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(workflowDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var w workflowFile
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

func TestWorkflowScriptsTakeValuesOnlyFromEnv(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflowDir, "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows in %s: %v", workflowDir, err)
	}
	for _, f := range files {
		w := readWorkflow(t, filepath.Base(f))
		for name, j := range w.Jobs {
			for i, s := range j.Steps {
				for what, text := range map[string]string{"run": s.Run, "github-script": s.With["script"]} {
					if strings.Contains(text, "${{") {
						t.Errorf("%s: job %s step %d (%s): ${{ }} inside %s: pass the value through env:", filepath.Base(f), name, i+1, s.Name, what)
					}
				}
			}
		}
	}
}

func TestWorkflowPermissionsAreLeast(t *testing.T) {
	w := readWorkflow(t, "infrastructure.yml")
	if len(w.Permissions) != 0 {
		t.Errorf("workflow-level permissions %v: want {} so each job states its own", w.Permissions)
	}
	for name, j := range w.Jobs {
		if j.Permissions == nil {
			t.Errorf("job %s has no permissions block", name)
			continue
		}
		if j.Permissions["contents"] != "read" || j.Permissions["id-token"] != "write" {
			t.Errorf("job %s: permissions %v, want contents: read and id-token: write (OIDC)", name, j.Permissions)
		}
		for scope, level := range j.Permissions {
			allowed := scope == "contents" || scope == "id-token" ||
				scope == "security-events" && name != "drift" ||
				scope == "pull-requests" && name == "preview"
			if !allowed {
				t.Errorf("job %s: %s: %s is more than it needs", name, scope, level)
			}
		}
	}
}

func TestWorkflowDeploysNeverOverlap(t *testing.T) {
	w := readWorkflow(t, "infrastructure.yml")
	for _, name := range []string{"test", "staging", "prod", "dispatch"} {
		j, ok := w.Jobs[name]
		if !ok {
			t.Errorf("no %s job", name)
			continue
		}
		if j.Concurrency.Group == "" || j.Concurrency.CancelInProgress {
			t.Errorf("job %s: concurrency %+v, want a group per environment and cancel-in-progress false", name, j.Concurrency)
		}
	}
	if got := w.Jobs["prod"].Needs; got != "staging" {
		t.Errorf("prod needs %v, want staging", got)
	}
	if got := w.Jobs["staging"].Needs; got != "test" {
		t.Errorf("staging needs %v, want test", got)
	}
}

// The dispatch choice lists exactly the environments ci/environment knows, and the safe
// defaults hold: nothing is forced, skipped or dry by default.
func TestWorkflowDispatchInputs(t *testing.T) {
	w := readWorkflow(t, "infrastructure.yml")
	in := w.On.WorkflowDispatch.Inputs
	var names []string
	for _, n := range environment.Names {
		names = append(names, string(n))
	}
	if env := in["environment"]; env.Type != "choice" || !slices.Equal(env.Options, names) {
		t.Errorf("environment input %+v, want a choice of %v", env, names)
	}
	for _, b := range []string{"force_recreate", "dry_run", "skip_tests"} {
		if in[b].Type != "boolean" || in[b].Default != false {
			t.Errorf("input %s: %+v, want a boolean defaulting to false", b, in[b])
		}
	}
}

// Every action is pinned, and the Dagger CLI is the engine version dagger.json asks for.
func TestWorkflowPins(t *testing.T) {
	data, err := os.ReadFile("../../dagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var mod struct {
		EngineVersion string `json:"engineVersion"`
	}
	if err := json.Unmarshal(data, &mod); err != nil {
		t.Fatal(err)
	}
	pinned := regexp.MustCompile(`^[\w.-]+/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40})$`)
	daggerSteps := 0
	for _, name := range []string{"infrastructure.yml", "infrastructure-run.yml"} {
		w := readWorkflow(t, name)
		for jn, j := range w.Jobs {
			for _, s := range j.Steps {
				if s.Uses == "" {
					continue
				}
				if !pinned.MatchString(s.Uses) {
					t.Errorf("%s job %s: %s is not pinned to a version", name, jn, s.Uses)
				}
				if strings.HasPrefix(s.Uses, "dagger/dagger-for-github@") {
					daggerSteps++
					if "v"+s.With["version"] != mod.EngineVersion {
						t.Errorf("%s job %s: Dagger CLI %q, dagger.json engineVersion %q", name, jn, s.With["version"], mod.EngineVersion)
					}
				}
			}
		}
	}
	if daggerSteps < 2 {
		t.Errorf("found %d dagger-for-github steps, want the run and the drift job", daggerSteps)
	}
}
