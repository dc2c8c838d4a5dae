package ghactions

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
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

// fakeDagger records its argv (NUL-separated) and writes the report files the module
// would export, then exits with FAKE_DAGGER_EXIT.
const fakeDagger = `#!/bin/sh
printf '%s\0' "$@" > "$FAKE_DAGGER_ARGV"
mkdir -p reports
cp "$FAKE_OUTPUTS" reports/outputs.env
cp "$FAKE_ANNOTATIONS" reports/annotations.txt
exit "${FAKE_DAGGER_EXIT:-0}"
`

// The Pipeline step's shell, run as the runner runs it (bash -eo pipefail) with a stand-in
// dagger: hostile values arrive as single arguments, the module's outputs and annotations
// reach the runner, tool output cannot issue commands, and dagger's exit status is the step's.
func TestWorkflowPipelineStep(t *testing.T) {
	script := pipelineStep(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	work := filepath.Join(dir, "work")
	for _, d := range []string{bin, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "dagger"), []byte(fakeDagger), 0o755); err != nil {
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
			argvFile := filepath.Join(dir, "argv")
			cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", filepath.Join(dir, "step.sh"))
			cmd.Dir = work
			cmd.Env = []string{
				"PATH=" + bin + ":/usr/bin:/bin",
				"HOME=" + dir,
				"AWS_REGION=eu-west-1",
				"GITHUB_EVENT_NAME=workflow_dispatch",
				"GITHUB_REF=refs/heads/main",
				"GITHUB_EVENT_PATH=/runner/_temp/event.json",
				"GITHUB_OUTPUT=" + githubOutput,
				"TARGET_ENV=prod",
				"REQUESTED_ENV=" + hostile,
				"DRY_RUN=true",
				"SKIP_TESTS=false",
				"FORCE_RECREATE=true",
				"INFRACOST_API_KEY=" + tt.infracostKey,
				"PROJECT=" + tt.project,
				"FAKE_DAGGER_ARGV=" + argvFile,
				"FAKE_DAGGER_EXIT=" + strconv.Itoa(tt.exit),
				"FAKE_OUTPUTS=" + filepath.Join(dir, "outputs.env"),
				"FAKE_ANNOTATIONS=" + filepath.Join(dir, "annotations.txt"),
			}
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

			argv, err := os.ReadFile(argvFile)
			if err != nil {
				t.Fatal(err)
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
			got := strings.Split(strings.TrimSuffix(string(argv), "\x00"), "\x00")
			if !slices.Equal(got, want) {
				t.Errorf("dagger argv\n got %q\nwant %q", got, want)
			}
			checkCall(t, moduleArgs(t), got[2:])
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

// moduleArgs reads the Dagger module's Go source and returns, per CLI function name, the
// flags it accepts ("" is the constructor), named as the Go SDK names them (kebab case).
func moduleArgs(t *testing.T) map[string]map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("../../.dagger/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no module source in ../../.dagger: %v", err)
	}
	fns := map[string]map[string]bool{}
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || !fd.Name.IsExported() {
				continue
			}
			name := ""
			switch {
			case fd.Recv == nil && fd.Name.Name == "New":
			case fd.Recv != nil && len(fd.Recv.List) == 1 && types.ExprString(fd.Recv.List[0].Type) == "*Infra":
				name = kebab(fd.Name.Name)
			default:
				continue
			}
			params := map[string]bool{}
			for _, p := range fd.Type.Params.List {
				for _, n := range p.Names {
					params[kebab(n.Name)] = true
				}
			}
			fns[name] = params
		}
	}
	return fns
}

// kebab names a Go identifier the way the Dagger CLI shows it: awsAccessKeyID ->
// aws-access-key-id, infracostAPIKey -> infracost-api-key, SecurityScan -> security-scan.
func kebab(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (!unicode.IsUpper(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{
		"awsAccessKeyID": "aws-access-key-id", "infracostAPIKey": "infracost-api-key",
		"SecurityScan": "security-scan", "githubEventName": "github-event-name", "env": "env",
		"reportOnFailure": "report-on-failure", "ResolveEnv": "resolve-env",
	} {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%s) = %s, want %s", in, got, want)
		}
	}
}

// checkCall checks a `dagger call` argv (the words after "call") against the module: the
// constructor's flags, then a function and its flags; what follows (export) is Dagger's.
func checkCall(t *testing.T, mod map[string]map[string]bool, argv []string) {
	t.Helper()
	fn := ""
	for _, a := range argv {
		if !strings.HasPrefix(a, "--") {
			if fn != "" {
				return // a chained core function such as export
			}
			fn = a
			if mod[fn] == nil {
				t.Errorf("the module has no function %q (the workflow calls it)", fn)
				return
			}
			continue
		}
		flag, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !mod[fn][flag] {
			where := "function " + fn
			if fn == "" {
				where = "constructor"
			}
			t.Errorf("the module's %s takes no --%s", where, flag)
		}
	}
}

var argsArrayRE = regexp.MustCompile(`(?s)args=\((.*?)\)`)

// The workflow's calls use only functions and flags the module declares.
func TestWorkflowCallsMatchTheModule(t *testing.T) {
	mod := moduleArgs(t)
	w := readWorkflow(t, "infrastructure.yml")
	found := 0
	for _, s := range w.Jobs["drift"].Steps {
		if m := argsArrayRE.FindStringSubmatch(s.Run); m != nil {
			words := strings.Fields(strings.ReplaceAll(m[1], `"`, ""))
			if words[0] != "call" {
				t.Fatalf("drift args start with %q", words[0])
			}
			checkCall(t, mod, words[1:])
			found++
		}
	}
	run := readWorkflow(t, "infrastructure-run.yml")
	for _, s := range run.Jobs["pipeline"].Steps {
		if _, rest, ok := strings.Cut(s.Run, "dagger --progress=plain call "); ok && s.Name == "Verdict" {
			checkCall(t, mod, strings.Fields(rest))
			found++
		}
	}
	if found != 2 {
		t.Errorf("checked %d static calls, want drift and verdict", found)
	}
}
