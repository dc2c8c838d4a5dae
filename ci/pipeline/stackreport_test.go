package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/stacks"
)

// reportOnDisk writes a report's files to a directory, as the module exports them, and
// reads them back through a environment.ReadFile as the module reads a stack's report directory.
func reportOnDisk(t *testing.T, list []string) environment.ReadFile {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files(t, list) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tftest.Reader(dir)
}

func TestReadStackReport(t *testing.T) {
	// A real stack's report: prod blocks the real plan's delete; a finding annotates.
	blocked := Report{Run: Run{Env: environment.Prod}, Plan: realPlan(t, environment.Prod),
		Steps: []StepReport{{Outcome: Outcome{Step: StepPlan, Verdict: gate.Block, Reasons: []string{"prod plan deletes terraform_data.old"}},
			Tools: []string{"trivy"}, Findings: []findings.Finding{{Tool: "trivy", RuleID: "AVD-AWS-0089", Severity: findings.High, Message: "no logging", File: "main.tf", Line: 1}}}}}
	blockedFiles, _, err := blocked.Files()
	if err != nil {
		t.Fatal(err)
	}
	broken := files(t, blockedFiles)
	broken[ResultFile] = `{"env":"prod","verdict":"fine"}`
	var brokenList []string
	for k, v := range broken {
		brokenList = append(brokenList, k, v)
	}
	broken[ResultFile] = `{"env":"prod","verdict":"block","steps":[{"name":"Plan","verdict":"fine"}]}`
	var brokenStepList []string
	for k, v := range broken {
		brokenStepList = append(brokenStepList, k, v)
	}
	cases := []struct {
		name     string
		read     environment.ReadFile
		verdict  gate.Verdict
		reasons  []string
		steps    []StepResult
		summary  string // a line the stack's summary holds
		own      bool   // its SARIF, JUnit and annotations are taken
		err      string // "" for none
		noReport bool
	}{
		{
			name:    "a blocked pipeline's report",
			read:    reportOnDisk(t, blockedFiles),
			verdict: gate.Block, reasons: []string{"Plan: prod plan deletes terraform_data.old"},
			steps:   []StepResult{{Name: StepPlan, Verdict: gate.Block, Reasons: []string{"prod plan deletes terraform_data.old"}, Findings: 1}},
			summary: "# prod pipeline: block", own: true,
		},
		{
			name:    "nothing to deploy: a summary and no result passes",
			read:    reportOnDisk(t, []string{"summary.md", NothingToDeploy(errors.New("the push deleted the branch"))}),
			verdict: gate.Pass, reasons: []string{}, summary: "# Nothing to deploy",
		},
		{
			name: "a result.json with an unknown verdict",
			read: reportOnDisk(t, brokenList),
			err:  `stacks/a/result.json: verdict "fine"`,
		},
		{
			name: "a result.json with a step of an unknown verdict",
			read: reportOnDisk(t, brokenStepList),
			err:  `stacks/a/result.json: steps[0] (Plan): verdict "fine"`,
		},
		{
			name: "the directory cannot be read",
			read: func(string) ([]byte, bool, error) { return nil, false, errors.New("engine gone") },
			err:  "read stacks/a/summary.md: engine gone",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, own, err := ReadStackReport(StackRun{Stack: "stacks/a", Report: StackReport("stacks/a")}, tc.read)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one holding %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tc.verdict || strings.Join(r.Reasons, "|") != strings.Join(tc.reasons, "|") || r.Reasons == nil {
				t.Errorf("verdict %s reasons %q; want %s %q", r.Verdict, r.Reasons, tc.verdict, tc.reasons)
			}
			if !slices.EqualFunc(r.Steps, tc.steps, func(a, b StepResult) bool {
				return a.Name == b.Name && a.Verdict == b.Verdict && slices.Equal(a.Reasons, b.Reasons) && a.Findings == b.Findings
			}) {
				t.Errorf("steps %+v; want %+v", r.Steps, tc.steps)
			}
			if !strings.Contains(r.Summary, tc.summary) {
				t.Errorf("summary lacks %q:\n%s", tc.summary, r.Summary)
			}
			if got := own.SARIF != nil && own.JUnit != nil && strings.Contains(own.Annotations, "AVD-AWS-0089"); got != tc.own {
				t.Errorf("own files taken: %v, want %v (%+v)", got, tc.own, own)
			}
			// What was read merges into the combined report.
			res := NewStacksResult(environment.Prod, false, []StackRun{r}, nil)
			if _, err := StacksFiles(res, Call(nil, "pipeline"), "", []StackOwn{own}); err != nil {
				t.Errorf("the combined report refuses what was read: %v", err)
			}
		})
	}
}

func TestStackFailed(t *testing.T) {
	long := "terraform init failed in test (exit code 1):\n" + strings.Repeat("provider error line\n", 60) + "\nReproduce with: dagger call pipeline --env=test"
	cases := []struct {
		name, err, reason string
		summary           []string
	}{
		{"one line", "connect to the engine: refused", "connect to the engine: refused", []string{"The stack's pipeline could not run:\n\n```\nconnect to the engine: refused\n```"}},
		{"the first line is the reason, the end is shown", long, "terraform init failed in test (exit code 1):", []string{"[... 22 lines cut]", "Reproduce with: dagger call pipeline --env=test"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := StackRun{Stack: "stacks/b", Report: StackReport("stacks/b"), Held: []string{"stacks/a"}, Summary: "old"}
			r := StackFailed(in, fmt.Errorf("%s", tc.err))
			if r.Verdict != gate.Block || len(r.Reasons) != 1 || r.Reasons[0] != tc.reason || r.Stack != "stacks/b" || len(r.Held) != 1 {
				t.Errorf("row %+v; want stacks/b blocked by %q, still held", r, tc.reason)
			}
			for _, w := range tc.summary {
				if !strings.Contains(r.Summary, w) {
					t.Errorf("summary lacks %q:\n%s", w, r.Summary)
				}
			}
			if head := StacksHeader(NewStacksResult(environment.Test, false, []StackRun{r}, nil)); !strings.Contains(head, "- **block** `stacks/b`: "+tc.reason) {
				t.Errorf("the combined header does not give the reason:\n%s", head)
			}
		})
	}
}

// FuzzReadStackReport: whatever a stack's report holds, reading it never panics, and a
// report it accepts has a valid verdict.
func FuzzReadStackReport(f *testing.F) {
	f.Add([]byte("# test pipeline: pass\n"), []byte(`{"env":"test","verdict":"pass","reasons":[]}`), true)
	f.Add([]byte(""), []byte(`{"env":"prod","verdict":"block","reasons":null}`), true)
	f.Add([]byte("x"), []byte(`{`), true)
	f.Add([]byte("x"), []byte(nil), false)
	f.Add([]byte("x"), []byte(`{"env":"test","verdict":"warn","reasons":["Lint: x"],"steps":[{"name":"Lint","verdict":"warn","reasons":["x"]}]}`), true)
	f.Fuzz(func(t *testing.T, summary, result []byte, hasResult bool) {
		read := func(name string) ([]byte, bool, error) {
			switch name {
			case "summary.md":
				return summary, true, nil
			case ResultFile:
				return result, hasResult, nil
			}
			return nil, false, nil
		}
		r, _, err := ReadStackReport(StackRun{Stack: "s"}, read)
		if err != nil {
			return
		}
		switch r.Verdict {
		case gate.Pass, gate.Warn, gate.Block:
		default:
			t.Fatalf("accepted verdict %q", r.Verdict)
		}
		if r.Reasons == nil || r.Summary != string(summary) {
			t.Fatalf("reasons %v, summary %q", r.Reasons, r.Summary)
		}
		for _, st := range r.Steps {
			switch st.Verdict {
			case gate.Pass, gate.Warn, gate.Block:
			default:
				t.Fatalf("accepted step verdict %q", st.Verdict)
			}
		}
	})
}

// TestStacksHeaderReasons runs two real stacks, stacks/app depending on stacks/net, as
// `pipeline --stacks` does: selected from a repository on disk (ci/stacks), each stack's
// steps judged and recorded by the pipeline's own constructors, its report written and read
// back. Each reason in the combined header carries the verdict of the step that gave it,
// blocking ones first, and the table says why each stack ran.
func TestStacksHeaderReasons(t *testing.T) {
	root := t.TempDir()
	const backend = "terraform {\n  backend \"s3\" {}\n}\n"
	tftest.WriteFiles(t, root, map[string]string{
		"pipeline.yaml":      "version: 1\nstacks:\n  include: [\"stacks/*\"]\n  depends_on:\n    stacks/app: [stacks/net]\n",
		"stacks/net/main.tf": backend,
		"stacks/app/main.tf": backend,
	})
	tree := stacks.NewDirTree(root)
	repo, err := stacks.Discover(tree)
	if err != nil {
		t.Fatal(err)
	}
	checkovDown := Scan{Tools: []string{"checkov", "trivy"}, Broken: []ToolFailure{{
		Tool: Tool{Name: "checkov", Image: "bridgecrew/checkov:3.2.524", Flag: "checkov-image"}, Err: errors.New("pull access denied")}}}
	critical := checkovDown
	critical.Findings = []findings.Finding{{Tool: "trivy", RuleID: "AWS-0086", Severity: findings.Critical,
		Message: "No public access block so not blocking public acls", File: "stacks/net/main.tf", Line: 1}}
	badValue := Lint{Validate: ReadValidate(1, "", "Error: Invalid value for input variable\n\n  on main.tf line 4:\n   4:   cidr = \"10.0.0.0/33\"\n")}
	unusedVar := Lint{Tflint: []findings.Finding{{Tool: "tflint", RuleID: "terraform_unused_declarations", Severity: findings.Low,
		Message: `variable "region" is declared but not used`, File: "stacks/net/main.tf", Line: 1}}}
	// step is one step of a stack's run, as the module hands it to the recorder.
	type step func(p environment.Profile, rec *Recorder)
	scan := func(s Scan) step {
		return func(p environment.Profile, rec *Recorder) { rec.Add(s.Step(StepSecurityScan, p, p.SeverityThreshold)) }
	}
	failedPlan := func(p environment.Profile, rec *Recorder) {
		out := strings.Repeat("noise\n", 60) + string(readTestdata(t, "plan-required-variable-unset.txt"))
		rec.Failed(StepPlan, StepFailed("terraform plan", p.Name, 1, out, time.Minute, time.Now()))
	}
	lint := func(l Lint) step {
		return func(p environment.Profile, rec *Recorder) { rec.Add(l.Step(p, true)) }
	}
	cases := []struct {
		name    string
		env     string
		spec    string
		changed []string
		steps   map[string][]step // by stack; a stack missing here returns no report
		rows    []string          // the table's rows
		lines   []string          // every "- **" line, in order
	}{
		{
			name: "test: net's lint blocks, checkov down only warns in both",
			env:  "test", spec: "all",
			steps: map[string][]step{"stacks/net": {scan(checkovDown), lint(badValue)}, "stacks/app": {scan(checkovDown)}},
			rows: []string{
				"| `stacks/net` | block | --stacks=all: every stack runs |",
				"| `stacks/app` | warn, not applied | --stacks=all: every stack runs |",
			},
			lines: []string{
				"- **held** `stacks/app`: planned and checked, not applied: it depends on `stacks/net`, which blocked or was held",
				"- **block** `stacks/net`: Lint: terraform validate failed",
				"- **warn** `stacks/net`: Security scan: checkov could not run: image bridgecrew/checkov:3.2.524 is not available (use --checkov-image to pick another); in test a check that could not run warns",
				"- **warn** `stacks/app`: Security scan: checkov could not run: image bridgecrew/checkov:3.2.524 is not available (use --checkov-image to pick another); in test a check that could not run warns",
			},
		},
		{
			// A failed plan's reason holds Terraform's output: one line of it, its error.
			name: "test: a failed plan gives its error in one line",
			env:  "test", spec: "stacks/net",
			steps: map[string][]step{"stacks/net": {failedPlan}},
			rows:  []string{"| `stacks/net` | block | named |"},
			lines: []string{"- **block** `stacks/net`: Plan: terraform plan failed in test (exit code 1): Error: No value for required variable (the stack's report has the rest)"},
		},
		{
			// Within one step too: checkov down warns beside trivy's blocking finding.
			name: "test: a warning inside a blocking step stays a warning",
			env:  "test", spec: "stacks/net",
			steps: map[string][]step{"stacks/net": {scan(critical)}},
			rows:  []string{"| `stacks/net` | block | named |"},
			lines: []string{
				"- **block** `stacks/net`: Security scan: security scan: 1 finding(s) at or above CRITICAL: AWS-0086 (stacks/net/main.tf:1)",
				"- **warn** `stacks/net`: Security scan: checkov could not run: image bridgecrew/checkov:3.2.524 is not available (use --checkov-image to pick another); in test a check that could not run warns",
			},
		},
		{
			name: "prod: checkov down blocks app, listed before net's warning",
			env:  "prod", spec: "stacks/net,stacks/app",
			steps: map[string][]step{"stacks/net": {lint(unusedVar)}, "stacks/app": {scan(checkovDown)}},
			rows:  []string{"| `stacks/net` | warn | named |", "| `stacks/app` | block | named |"},
			lines: []string{
				"- **block** `stacks/app`: Security scan: checkov could not run: image bridgecrew/checkov:3.2.524 is not available (use --checkov-image to pick another); in prod a check that could not run blocks",
				"- **warn** `stacks/net`: Lint: tflint: 1 finding(s) below MEDIUM",
			},
		},
		{
			name: "changed: net's pipeline could not run, and blocks with its error",
			env:  "test", spec: "changed", changed: []string{"stacks/net/main.tf"},
			steps: map[string][]step{"stacks/app": {lint(Lint{})}},
			rows: []string{
				"| `stacks/net` | block | stacks/net/main.tf: in the stack |",
				"| `stacks/app` | pass, not applied | depends on stacks/net, which the change touches |",
			},
			lines: []string{
				"- **held** `stacks/app`: planned and checked, not applied: it depends on `stacks/net`, which blocked or was held",
				"- **block** `stacks/net`: terraform init failed in test (exit code 1):",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := repo.Select(tree, tc.spec, tc.changed)
			if err != nil {
				t.Fatal(err)
			}
			p := profile(t, tc.env)
			runs, _, err := RunStacks(sel, Flags{Env: tc.env, MaxParallel: 1}, func(s stacks.Selected, f Flags) (environment.ReadFile, error) {
				steps, ok := tc.steps[s.Dir]
				if !ok {
					return nil, errors.New("terraform init failed in test (exit code 1):\nno such bucket")
				}
				rec := NewRecorder(p, time.Now())
				for _, st := range steps {
					st(p, rec)
				}
				r := Report{Run: Run{Env: p.Name, DryRun: f.DryRun}, Steps: rec.Steps(), Reproduce: Call(nil, "pipeline")}
				list, _, err := r.Files()
				if err != nil {
					t.Fatal(err)
				}
				return reportOnDisk(t, list), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			head := StacksHeader(NewStacksResult(p.Name, false, runs, nil))
			var rows, lines []string
			for _, l := range strings.Split(head, "\n") {
				switch {
				case strings.HasPrefix(l, "| `"):
					rows = append(rows, l)
				case strings.HasPrefix(l, "- **"):
					lines = append(lines, l)
				}
			}
			if !slices.Equal(rows, tc.rows) || !slices.Equal(lines, tc.lines) {
				t.Errorf("header rows\n%s\nlines\n%s\nwant rows\n%s\nlines\n%s", strings.Join(rows, "\n"), strings.Join(lines, "\n"),
					strings.Join(tc.rows, "\n"), strings.Join(tc.lines, "\n"))
			}
		})
	}
}
