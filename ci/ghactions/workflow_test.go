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

	"github.com/infrapipe/infrapipe/ci/changes"
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
		if name == "changes" { // reads the repository, nothing else: no cloud, no secrets
			if !maps.Equal(j.Permissions, map[string]string{"contents": "read"}) {
				t.Errorf("job changes: permissions %v, want contents: read only", j.Permissions)
			}
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
	for _, name := range []string{"test", "staging", "prod-plan", "prod", "dispatch"} {
		j, ok := w.Jobs[name]
		if !ok {
			t.Errorf("no %s job", name)
			continue
		}
		if j.Concurrency.Group == "" || j.Concurrency.CancelInProgress {
			t.Errorf("job %s: concurrency %+v, want a group per environment and cancel-in-progress false", name, j.Concurrency)
		}
	}
	if got := w.Jobs["prod-plan"].Needs; got != "staging" {
		t.Errorf("prod-plan needs %v, want staging", got)
	}
	// prod applies what prod-plan stored: the reference and hash come from its outputs.
	prod := w.Jobs["prod"]
	if prod.Needs != "prod-plan" || prod.With["plan-ref"] != "${{ needs.prod-plan.outputs.plan_ref }}" ||
		prod.With["plan-sha256"] != "${{ needs.prod-plan.outputs.plan_sha256 }}" {
		t.Errorf("prod job %+v: want it to need prod-plan and apply its plan_ref and plan_sha256", prod)
	}
	if w.Jobs["prod-plan"].With["store-plan"] != true {
		t.Errorf("prod-plan does not store its plan: %v", w.Jobs["prod-plan"].With)
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

// runStep returns the script of a job's step, by name.
func runStep(t *testing.T, file, jobName, stepName string) string {
	t.Helper()
	for _, s := range readWorkflow(t, file).Jobs[jobName].Steps {
		if s.Name == stepName {
			return s.Run
		}
	}
	t.Fatalf("no step %q in job %s of %s", stepName, jobName, file)
	return ""
}

// reportFiles are the shell lines with which the stand-in dagger writes the report files
// the module would export.
const reportFiles = `mkdir -p reports
cp "$FAKE_OUTPUTS" reports/outputs.env
cp "$FAKE_ANNOTATIONS" reports/annotations.txt
echo '# summary' > reports/summary.md`

// The Pipeline and publish steps' shell, run as the runner runs it (bash -eo pipefail) with a
// stand-in dagger: hostile values arrive as single arguments, tool output cannot issue
// commands, dagger's exit status is the step's, and the module's outputs, annotations and
// summary reach the runner.
func TestWorkflowPipelineStep(t *testing.T) {
	const file = "infrastructure-run.yml"
	pipelineScript := runStep(t, file, "pipeline", "Pipeline")
	publishScript := runStep(t, file, "pipeline", "Outputs, annotations and step summary")
	mod, err := daggertest.ReadModule("../../.dagger")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	outputs, err := RenderOutputs([]Output{{Name: "has_changes", Value: "true"}, {Name: "reproduce", Value: "dagger call pipeline --env=prod"}})
	if err != nil {
		t.Fatal(err)
	}
	var annotations strings.Builder
	Annotate(&annotations, []findings.Finding{{Tool: "trivy", RuleID: "AVD-AWS-0086", Severity: findings.High, File: "terraform/main.tf", Line: 3, Message: "public\nbucket"}}, AnnotateOptions{})
	for name, content := range map[string]string{
		"pipeline.sh": pipelineScript, "publish.sh": publishScript,
		"outputs.env": string(outputs), "annotations.txt": annotations.String(),
	} {
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
		name    string
		exit    int
		project string
	}{
		{"success with a project", 0, "my-project"},
		{"the module fails", 3, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			githubOutput, summary := filepath.Join(work, "github_output"), filepath.Join(work, "step_summary")
			dagger := daggertest.NewFake(t, reportFiles)
			run := func(script string) (string, int) {
				cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", filepath.Join(dir, script))
				cmd.Dir = work
				cmd.Env = append(dagger.Env(),
					"PATH="+dagger.Dir+":/usr/bin:/bin",
					"HOME="+dir,
					"AWS_REGION=eu-west-1",
					"GITHUB_EVENT_NAME=workflow_dispatch",
					"GITHUB_REF=refs/heads/main",
					"GITHUB_EVENT_PATH=/runner/_temp/event.json",
					"GITHUB_SERVER_URL=https://github.com",
					"GITHUB_REPOSITORY=o/r",
					"GITHUB_RUN_ID=42",
					"GITHUB_OUTPUT="+githubOutput,
					"GITHUB_STEP_SUMMARY="+summary,
					"ENVIRONMENT="+hostile,
					"INFRACOST_API_KEY=",
					"PROJECT="+tt.project,
					"STORE_PLAN=false",
					"PLAN_REF="+hostile,
					"PLAN_SHA256=",
					daggertest.ExitVar+"="+strconv.Itoa(tt.exit),
					"FAKE_OUTPUTS="+filepath.Join(dir, "outputs.env"),
					"FAKE_ANNOTATIONS="+filepath.Join(dir, "annotations.txt"),
				)
				out, err := cmd.Output()
				if ee, ok := err.(*exec.ExitError); ok {
					return string(out), ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				return string(out), 0
			}
			log, code := run("pipeline.sh")
			if code != tt.exit {
				t.Errorf("step exit %d, want dagger's %d", code, tt.exit)
			}
			want := []string{"--progress=plain", "call", "--region=eu-west-1", "--aws-access-key-id=env:AWS_ACCESS_KEY_ID",
				"--aws-secret-access-key=env:AWS_SECRET_ACCESS_KEY", "--aws-session-token=env:AWS_SESSION_TOKEN", "--git-credentials=env:GIT_CREDENTIALS", "pipeline", "--report-on-failure",
				"--changed-files=./changed.txt", "--github-event-name=workflow_dispatch", "--github-ref=refs/heads/main",
				"--github-event=/runner/_temp/event.json", "--requested-env=" + hostile,
				"--project=" + tt.project, "--infracost-api-key=env:INFRACOST_API_KEY",
				"--store-plan=false", "--plan-ref=" + hostile, "--plan-sha256=",
				"--notify-webhooks=env:NOTIFY_WEBHOOKS", "--run-url=https://github.com/o/r/actions/runs/42", "export", "--path=./reports"}
			got := dagger.Argv(t)
			if !slices.Equal(got, want) {
				t.Errorf("dagger argv\n got %q\nwant %q", got, want)
			}
			if len(got) > 2 {
				if err := mod.Check(got[2:]); err != nil {
					t.Errorf("the workflow's call: %v", err)
				}
			}
			if _, err := os.Stat(filepath.Join(work, "pwned")); err == nil {
				t.Error("a command substitution in an input ran")
			}
			// Outside a git checkout the change is not known: the list says so, and all runs.
			if data, err := os.ReadFile(filepath.Join(work, "changed.txt")); err != nil || string(data) != "*\n" {
				t.Errorf("changed.txt = %q, %v; want \"*\" when git cannot diff", data, err)
			}
			// Commands are off while dagger runs, and back on when the step ends.
			lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
			token, _ := strings.CutPrefix(lines[0], "::stop-commands::")
			if len(token) != 32 || lines[len(lines)-1] != "::"+token+"::" {
				t.Errorf("want stop-commands with a random token first and its resume last; log:\n%s", log)
			}

			// The publish step copies what the module wrote, and prints the annotations with
			// commands on.
			log, code = run("publish.sh")
			if code != 0 {
				t.Errorf("publish step exit %d:\n%s", code, log)
			}
			data, _ := os.ReadFile(githubOutput)
			if got, want := parseOutputFile(t, string(data)), map[string]string{"has_changes": "true", "reproduce": "dagger call pipeline --env=prod"}; !maps.Equal(got, want) {
				t.Errorf("GITHUB_OUTPUT\n got %q\nwant %q", got, want)
			}
			if log != annotations.String() {
				t.Errorf("publish log %q, want exactly the annotations %q", log, annotations.String())
			}
			if data, _ := os.ReadFile(summary); string(data) != "# summary\n" {
				t.Errorf("step summary %q, want the module's summary.md", data)
			}
		})
	}

	// No report at all (dagger failed before exporting): the publish step still succeeds and
	// says so in the step summary.
	t.Run("no report", func(t *testing.T) {
		work := t.TempDir()
		summary := filepath.Join(work, "step_summary")
		cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", filepath.Join(dir, "publish.sh"))
		cmd.Dir = work
		cmd.Env = []string{"PATH=/usr/bin:/bin", "GITHUB_OUTPUT=" + filepath.Join(work, "out"), "GITHUB_STEP_SUMMARY=" + summary, "ENVIRONMENT=test"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("publish step without a report: %v\n%s", err, out)
		}
		if data, _ := os.ReadFile(summary); !strings.Contains(string(data), "test: no report") {
			t.Errorf("step summary %q, want the no-report line", data)
		}
	})
}

// Every `dagger call` in every run block of the workflows uses only functions and flags the
// module declares; the workflows call pipeline, drift, kpis and verdict.
func TestWorkflowCallsMatchTheModule(t *testing.T) {
	mod, err := daggertest.ReadModule("../../.dagger")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(workflowDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	functions := map[string]int{}
	for _, f := range files {
		w := readWorkflow(t, filepath.Base(f))
		for jn, j := range w.Jobs {
			for _, s := range j.Steps {
				for _, c := range daggertest.Calls(s.Run) {
					if err := mod.Check(c.Argv); err != nil {
						t.Errorf("%s job %s step %q: dagger call %s\n%v", filepath.Base(f), jn, s.Name, strings.Join(c.Argv, " "), err)
					}
					for _, a := range c.Argv {
						if !strings.HasPrefix(a, "--") {
							functions[a]++
							break
						}
					}
				}
			}
		}
	}
	if want := map[string]int{"pipeline": 1, "drift": 1, "kpis": 1, "verdict": 2, "stacks": 1}; !maps.Equal(functions, want) {
		t.Errorf("the workflows call %v, want %v: the parser missed a call, or a step was added", functions, want)
	}
}

// The caller stays minimal: both files together within about 200 lines (243: the two-phase
// prod deploy added a job, notifications a secret, the weekly KPI review a step, and the
// job that asks the module whether a change affects any stack), and no run block over 10 lines (logic
// belongs in the module, where a laptop runs it too).
func TestWorkflowIsMinimal(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflowDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		total += strings.Count(string(data), "\n")
		w := readWorkflow(t, filepath.Base(f))
		for jn, j := range w.Jobs {
			for _, s := range j.Steps {
				if n := strings.Count(strings.TrimSuffix(s.Run, "\n"), "\n") + 1; s.Run != "" && n > 10 {
					t.Errorf("%s job %s step %q: a run block of %d lines, want at most 10", filepath.Base(f), jn, s.Name, n)
				}
			}
		}
	}
	if total > 243 {
		t.Errorf("the workflows hold %d lines, want at most about 200 (243)", total)
	}
}

// Preview and test (and so staging and prod after it) run only when the module says the
// change affects a stack: the changes job's Stacks step, run here as the runner runs it on a
// real git history, lists the change with git (renames at both paths), asks `dagger call
// stacks` and hands its matrix on; a dagger failure fails the step rather than passing an
// empty list on. Dispatch and the schedule never wait for it.
func TestWorkflowRunsInfrastructureOnlyWhenAffected(t *testing.T) {
	w := readWorkflow(t, "infrastructure.yml")
	const gate = `contains(needs.changes.outputs.stacks, '"stack"')`
	for name, j := range w.Jobs {
		gated := name == "preview" || name == "test"
		if got := j.Needs == "changes" && strings.Contains(j.If, gate); got != gated {
			t.Errorf("job %s: needs %v, if %q: gated by the changes job %v, want %v", name, j.Needs, j.If, got, gated)
		}
	}
	if got := w.Jobs["changes"].If; got != "github.event_name == 'pull_request' || github.event_name == 'push'" {
		t.Errorf("the changes job runs if %q, want for pull requests and pushes only", got)
	}

	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	for name, content := range map[string]string{"stacks/a/main.tf": "# a\n", "stacks/a/café.tf": "# é\n", "docs/x.md": "x\n"} {
		if err := os.MkdirAll(filepath.Join(repo, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("add", ".")
	git("commit", "-qm", "one")
	base := git("rev-parse", "HEAD")
	git("mv", "stacks/a", "stacks/b")
	git("commit", "-qm", "move")

	script := filepath.Join(t.TempDir(), "stacks.sh")
	if err := os.WriteFile(script, []byte(runStep(t, "infrastructure.yml", "changes", "Stacks")), 0o644); err != nil {
		t.Fatal(err)
	}
	matrix := `{"include":[{"stack":"stacks/b","level":0,"depends_on":[]}]}`
	const moved = `"stacks/a/caf\303\251.tf"` + "\nstacks/a/main.tf\n" + `"stacks/b/caf\303\251.tf"` + "\nstacks/b/main.tf\n"
	if got, err := changes.ReadList(moved); err != nil || !slices.Equal(got, []string{"stacks/a/café.tf", "stacks/a/main.tf", "stacks/b/café.tf", "stacks/b/main.tf"}) {
		t.Fatalf("ReadList of the step's list = %q, %v", got, err)
	}
	for _, tt := range []struct {
		name, base, wantList, wantOutput string
		exit                             int
	}{
		// git quotes a name outside ASCII; ci/changes.ReadList reads it back.
		{"a move lists both paths", base, moved, "stacks=" + matrix + "\n", 0},
		{"no base: not known", "", "*\n", "stacks=" + matrix + "\n", 0},
		{"dagger fails", base, moved, "", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dagger := daggertest.NewFake(t, `echo "$FAKE_STDOUT"`)
			output := filepath.Join(t.TempDir(), "github_output")
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
			cmd.Dir = repo
			cmd.Env = append(dagger.Env(), "PATH="+dagger.Dir+":"+os.Getenv("PATH"), "BASE="+tt.base,
				"GITHUB_OUTPUT="+output, "FAKE_STDOUT="+matrix, daggertest.ExitVar+"="+strconv.Itoa(tt.exit))
			out, err := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != tt.exit {
				t.Fatalf("step exit %d (%v), want %d:\n%s", code, err, tt.exit, out)
			}
			if got, want := dagger.Argv(t), []string{"--progress=plain", "call", "stacks", "--changed-files=./changed.txt"}; !slices.Equal(got, want) {
				t.Errorf("dagger argv %q, want %q", got, want)
			}
			if data, _ := os.ReadFile(filepath.Join(repo, "changed.txt")); string(data) != tt.wantList {
				t.Errorf("changed.txt = %q, want %q", data, tt.wantList)
			}
			if data, _ := os.ReadFile(output); string(data) != tt.wantOutput {
				t.Errorf("GITHUB_OUTPUT = %q, want %q", data, tt.wantOutput)
			}
		})
	}
}
