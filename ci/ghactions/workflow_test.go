package ghactions

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/internal/daggertest"
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

// pipelineStep returns the script of infrastructure-run.yml's Pipeline step.
func pipelineStep(t *testing.T) string {
	t.Helper()
	w := readWorkflow(t, "infrastructure-run.yml")
	for _, s := range w.Jobs["pipeline"].Steps {
		if s.Name == "Pipeline" {
			return s.Run
		}
	}
	t.Fatal("no Pipeline step in infrastructure-run.yml")
	return ""
}

// reportFiles are the shell lines with which the stand-in dagger writes the report files
// the module would export.
const reportFiles = `mkdir -p reports
cp "$FAKE_OUTPUTS" reports/outputs.env
cp "$FAKE_ANNOTATIONS" reports/annotations.txt`

// The Pipeline step's shell, run as the runner runs it (bash -eo pipefail) with a stand-in
// dagger: hostile values arrive as single arguments, the module's outputs and annotations
// reach the runner, tool output cannot issue commands, and dagger's exit status is the step's.
func TestWorkflowPipelineStep(t *testing.T) {
	script := pipelineStep(t)
	mod, err := daggertest.ReadModule("../../.dagger")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	outputs, err := RenderOutputs([]Output{{Name: "has_changes", Value: "true"}, {Name: "resources_to_destroy", Value: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	var annotations strings.Builder
	Annotate(&annotations, []findings.Finding{{Tool: "trivy", RuleID: "AVD-AWS-0086", Severity: findings.High, File: "terraform/main.tf", Line: 3, Message: "public\nbucket"}}, AnnotateOptions{})
	files := map[string]string{
		"step.sh":         script,
		"outputs.env":     string(outputs),
		"annotations.txt": annotations.String(),
		"github_output":   "",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed to run the workflow step: %v", err)
	}
	hostile := "prod\n::error::pwned $(touch pwned) `id`; x"

	for _, tt := range []struct {
		name         string
		exit         int
		infracostKey string
		project      string
	}{
		{"success with an Infracost key and a project", 0, "ico-123", "my-project"},
		{"the module fails", 3, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			githubOutput := filepath.Join(dir, "github_output")
			if err := os.WriteFile(githubOutput, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			dagger := daggertest.NewFake(t, reportFiles)
			cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", filepath.Join(dir, "step.sh"))
			cmd.Dir = work
			cmd.Env = append(dagger.Env(),
				"PATH="+dagger.Dir+":/usr/bin:/bin",
				"HOME="+dir,
				"AWS_REGION=eu-west-1",
				"GITHUB_EVENT_NAME=workflow_dispatch",
				"GITHUB_REF=refs/heads/main",
				"GITHUB_EVENT_PATH=/runner/_temp/event.json",
				"GITHUB_OUTPUT="+githubOutput,
				"TARGET_ENV=prod",
				"REQUESTED_ENV="+hostile,
				"DRY_RUN=true",
				"SKIP_TESTS=false",
				"FORCE_RECREATE=true",
				"INFRACOST_API_KEY="+tt.infracostKey,
				"PROJECT="+tt.project,
				daggertest.ExitVar+"="+strconv.Itoa(tt.exit),
				"FAKE_OUTPUTS="+filepath.Join(dir, "outputs.env"),
				"FAKE_ANNOTATIONS="+filepath.Join(dir, "annotations.txt"),
			)
			out, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.exit {
				t.Errorf("step exit %d, want dagger's %d", code, tt.exit)
			}

			want := []string{"--progress=plain", "call", "--region=eu-west-1", "pipeline", "--report-on-failure",
				"--github-event-name=workflow_dispatch", "--github-ref=refs/heads/main",
				"--github-event=/runner/_temp/event.json", "--requested-env=" + hostile,
				"--dry-run=true", "--skip-tests=false", "--force-recreate=true", "--project=" + tt.project,
				"--aws-access-key-id=env:AWS_ACCESS_KEY_ID", "--aws-secret-access-key=env:AWS_SECRET_ACCESS_KEY",
				"--aws-session-token=env:AWS_SESSION_TOKEN"}
			if tt.infracostKey != "" {
				want = append(want, "--infracost-api-key=env:INFRACOST_API_KEY")
			}
			want = append(want, "export", "--path=./reports")
			got := dagger.Argv(t)
			if len(got) < 2 {
				t.Fatalf("dagger argv %q: the step did not call dagger call", got)
			}
			if !slices.Equal(got, want) {
				t.Errorf("dagger argv\n got %q\nwant %q", got, want)
			}
			if err := mod.Check(got[2:]); err != nil {
				t.Errorf("the workflow's call: %v", err)
			}
			if _, err := os.Stat(filepath.Join(work, "pwned")); err == nil {
				t.Error("a command substitution in an input ran")
			}

			// The runner reads the reproduce line and the module's outputs from GITHUB_OUTPUT.
			data, _ := os.ReadFile(githubOutput)
			gotOut := parseOutputFile(t, string(data))
			reproduce := "dagger call --region=eu-west-1 pipeline --env=prod --dry-run --force-recreate "
			if tt.project != "" {
				reproduce += "--project=" + tt.project + " "
			}
			reproduce += "--aws-access-key-id=env:AWS_ACCESS_KEY_ID --aws-secret-access-key=env:AWS_SECRET_ACCESS_KEY --aws-session-token=env:AWS_SESSION_TOKEN "
			if tt.infracostKey != "" {
				reproduce += "--infracost-api-key=env:INFRACOST_API_KEY "
			}
			reproduce += "export --path=./reports "
			wantOut := map[string]string{"reproduce": reproduce, "has_changes": "true", "resources_to_destroy": "1"}
			if !maps.Equal(gotOut, wantOut) {
				t.Errorf("GITHUB_OUTPUT\n got %q\nwant %q", gotOut, wantOut)
			}

			// Commands are off while dagger runs; the annotations come after they are back on.
			log := string(out)
			lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
			var stop, resume, annotation = -1, -1, -1
			token := ""
			for i, l := range lines {
				switch {
				case strings.HasPrefix(l, "::stop-commands::"):
					stop, token = i, strings.TrimPrefix(l, "::stop-commands::")
				case token != "" && l == "::"+token+"::":
					resume = i
				case strings.HasPrefix(l, "::error file=terraform/main.tf,line=3"):
					annotation = i
				}
			}
			if len(token) != 32 || stop < 0 || resume < stop || annotation < resume {
				t.Errorf("want stop-commands (random token), dagger, resume, then annotations; log:\n%s", log)
			}
			if lines[len(lines)-1] != strings.TrimSuffix(annotations.String(), "\n") {
				t.Errorf("last line %q, want the annotation", lines[len(lines)-1])
			}
			for i, l := range lines {
				if strings.HasPrefix(l, "::error::pwned") {
					t.Errorf("line %d: the hostile input became a workflow command: %q", i+1, l)
				}
			}
		})
	}
}

var argsArrayRE = regexp.MustCompile(`(?s)args=\((.*?)\)`)

// The workflow's calls use only functions and flags the module declares.
func TestWorkflowCallsMatchTheModule(t *testing.T) {
	mod, err := daggertest.ReadModule("../../.dagger")
	if err != nil {
		t.Fatal(err)
	}
	w := readWorkflow(t, "infrastructure.yml")
	found := 0
	for _, s := range w.Jobs["drift"].Steps {
		if m := argsArrayRE.FindStringSubmatch(s.Run); m != nil {
			words := strings.Fields(strings.ReplaceAll(m[1], `"`, ""))
			if words[0] != "call" {
				t.Fatalf("drift args start with %q", words[0])
			}
			if err := mod.Check(words[1:]); err != nil {
				t.Errorf("drift: %v", err)
			}
			found++
		}
	}
	run := readWorkflow(t, "infrastructure-run.yml")
	for _, s := range run.Jobs["pipeline"].Steps {
		if _, rest, ok := strings.Cut(s.Run, "dagger --progress=plain call "); ok && s.Name == "Verdict" {
			if err := mod.Check(strings.Fields(rest)); err != nil {
				t.Errorf("verdict: %v", err)
			}
			found++
		}
	}
	if found != 2 {
		t.Errorf("checked %d static calls, want drift and verdict", found)
	}
}
