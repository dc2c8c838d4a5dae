package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/infrapipe/infrapipe/internal/daggertest"
)

// TestWorkflowPipelineCall runs the exact `dagger call` of the caller workflow's Pipeline
// step on the engine, with the values GitHub would give it: a push to main and a pull
// request, an Infracost key, a session token and git credentials that the repository does
// not have (GitHub passes them as empty variables). Only the stack and the emulator are added in front.
func TestWorkflowPipelineCall(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	argv := workflowCall(t, "infrastructure-run.yml", "pipeline", "Pipeline")
	moto := startMoto(t)
	s := newStack(t, "app")
	s.Write(t, "environments/preview.tfvars", "project     = \"e2e\"\nenvironment = \"preview\"\n")
	events := filepath.Join(repoRoot(t), "ci", "ghactions", "testdata", "events")

	for _, tt := range []struct {
		env, event, eventFile, ref string
		applies                    bool
	}{
		{"test", "push", "push-main.json", "refs/heads/main", true},
		{"preview", "pull_request", "pull_request-synchronize.json", "refs/pull/2/merge", false},
	} {
		t.Run(tt.event, func(t *testing.T) {
			vars := map[string]string{
				"AWS_REGION": "us-east-1", "GITHUB_EVENT_NAME": tt.event, "GITHUB_REF": tt.ref,
				"GITHUB_EVENT_PATH": filepath.Join(events, tt.eventFile), "ENVIRONMENT": tt.env, "PROJECT": "",
				"STORE_PLAN": "false", "PLAN_REF": "", "PLAN_SHA256": "",
				"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "1",
			}
			args := append(append(s.Ctor(), moto.Ctor()...), expand(argv, vars)...)
			secrets := []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=", "INFRACOST_API_KEY=", "NOTIFY_WEBHOOKS=", "GIT_CREDENTIALS="}
			// The call exports to ./reports, relative to where dagger runs: point it at a
			// temporary directory instead.
			dir := filepath.Join(t.TempDir(), "reports")
			args[len(args)-1] = "--path=" + dir
			// The list the step writes with git diff: here, the stack's files changed.
			changed := filepath.Join(t.TempDir(), "changed.txt")
			if err := os.WriteFile(changed, []byte("main.tf\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			for i, a := range args {
				if a == "--changed-files=./changed.txt" {
					args[i] = "--changed-files=" + changed
				}
			}
			res := mustCall(t, secrets, args...)

			// The stack is no module's repository: the line names the module and the source.
			wantLine := "dagger call -m github.com/infrapipe/infrapipe --source=. --terraform-dir=. " + strings.Join(moto.Ctor(), " ") +
				" --aws-access-key-id=env:AWS_ACCESS_KEY_ID --aws-secret-access-key=env:AWS_SECRET_ACCESS_KEY pipeline --env=" + tt.env
			if !tt.applies {
				wantLine += " --dry-run" // the module's own choice for a pull request
			}
			// The commit comes from the event payload (the pushed commit, the pull request's head).
			wantLine += " --commit=" + prHead + " export --path=./reports"
			outputs := readFile(t, dir, "outputs.env")
			if !strings.Contains(outputs, "reproduce<<") || !strings.Contains(outputs, "\n"+wantLine+"\n") {
				t.Errorf("outputs.env has no reproduce output %q (the empty secrets left out):\n%s", wantLine, outputs)
			}
			if !strings.Contains(res.Stderr, "Reproduce locally") || !strings.Contains(res.Stderr, wantLine) {
				t.Errorf("the log does not start with the reproduce line %q:\n%s", wantLine, lastLines(res.Stderr, 40))
			}
			// The workflow passes its AWS credentials, here beside an emulator: the log says
			// they go unused.
			if !strings.Contains(res.Stderr, "warning: the AWS credentials given are not used: every AWS call of this run goes to the emulator") {
				t.Errorf("the log does not warn that the credentials go unused:\n%s", lastLines(res.Stderr, 40))
			}
			comment := readFile(t, dir, "comment.md")
			if first, _, _ := strings.Cut(comment, "\n"); first != "<!-- infrapipe:summary:"+tt.env+" -->" {
				t.Errorf("comment.md starts with %q, want the %s marker", first, tt.env)
			}
			r := readResult(t, dir)
			applied := slices.ContainsFunc(r.Steps, func(s struct {
				Name    string   `json:"name"`
				Verdict string   `json:"verdict"`
				Reasons []string `json:"reasons"`
			}) bool {
				return strings.EqualFold(s.Name, "apply") && s.Verdict == "pass"
			})
			// The stack has no alarms, so the test pipeline's post-deploy monitoring check
			// blocks after the apply; what matters here is the environment and the apply.
			if r.Env != tt.env || applied != tt.applies {
				t.Errorf("result: env %s, applied %v; want env %s, applied %v (steps %+v)", r.Env, applied, tt.env, tt.applies, r.Steps)
			}
		})
	}
}

// prHead is the commit of the push and pull request payloads in ci/ghactions/testdata/events.
const prHead = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"

// workflowCall is the argv after "call" of the one `dagger call` in a workflow step.
func workflowCall(t *testing.T, file, job, step string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), ".github", "workflows", file))
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		Jobs map[string]struct {
			Steps []struct{ Name, Run string }
		}
	}
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, s := range w.Jobs[job].Steps {
		if s.Name == step {
			calls := daggertest.Calls(s.Run)
			if len(calls) != 1 {
				t.Fatalf("%s step %q holds %d dagger calls, want 1", file, step, len(calls))
			}
			return calls[0].Argv
		}
	}
	t.Fatalf("%s has no step %q in job %s", file, step, job)
	return nil
}

// expand replaces $NAME in each word with the value GitHub's runner would give it.
func expand(argv []string, vars map[string]string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = os.Expand(a, func(k string) string { return vars[k] })
	}
	return out
}

// TestWorkflowChangesGate runs the `dagger call` of the workflow's changes job on this
// repository with the lists git would write: what it prints is what decides whether preview
// and test run (they need a "stack" in it; ci/ghactions checks the jobs' conditions).
func TestWorkflowChangesGate(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	argv := workflowCall(t, "infrastructure.yml", "changes", "Stacks")
	for _, tt := range []struct {
		name, changed string
		want          []string // the stacks the matrix names, in order
	}{
		{"docs only", "docs/stacks.md\nREADME.md\n", nil},
		{"one stack", "stacks/network/main.tf\n", []string{"stacks/network"}},
		{"the shared module", "modules/naming/main.tf\n", []string{"stacks/network", "terraform"}},
		{"the pipeline", ".dagger/pipeline.go\n", []string{"stacks/network", "terraform"}},
		{"not known", "*\n", []string{"stacks/network", "terraform"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			changed := filepath.Join(t.TempDir(), "changed.txt")
			if err := os.WriteFile(changed, []byte(tt.changed), 0o644); err != nil {
				t.Fatal(err)
			}
			args := slices.Clone(argv)
			for i, a := range args {
				if a == "--changed-files=./changed.txt" {
					args[i] = "--changed-files=" + changed
				}
			}
			out := strings.TrimSpace(mustCall(t, nil, args...).Stdout)
			var matrix struct {
				Include []struct{ Stack string } `json:"include"`
			}
			if err := json.Unmarshal([]byte(out), &matrix); err != nil {
				t.Fatalf("stdout is not the matrix: %v\n%s", err, out)
			}
			var got []string
			for _, e := range matrix.Include {
				got = append(got, e.Stack)
			}
			if !slices.Equal(got, tt.want) || strings.Contains(out, `"stack"`) != (len(tt.want) > 0) {
				t.Errorf("matrix %s, want the stacks %v", out, tt.want)
			}
		})
	}
}
