package pipeline

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/notify"
	"github.com/infrapipe/infrapipe/ci/plan"
	"github.com/infrapipe/infrapipe/ci/report"
)

// realPlan is a real Terraform plan that creates one resource and deletes another, judged
// for env.
func realPlan(t *testing.T, env environment.Name) *PlanReport {
	t.Helper()
	w := tftest.New(t, map[string]string{"main.tf": `resource "terraform_data" "old" {}`})
	w.Init()
	w.Apply()
	w.Write("main.tf", `resource "terraform_data" "new" { input = "v1" }`)
	a, err := plan.Analyze(bytes.NewReader(w.PlanJSON()))
	if err != nil {
		t.Fatal(err)
	}
	p, err := environment.Default(env)
	if err != nil {
		t.Fatal(err)
	}
	return &PlanReport{Analysis: a, Profile: p, Decision: gate.Decide(a, p, gate.Options{}), Text: "terraform show output"}
}

// files turns a report's name, contents, ... list into a map, failing on a name given twice.
func files(t *testing.T, list []string) map[string]string {
	t.Helper()
	if len(list)%2 != 0 {
		t.Fatalf("odd file list: %q", list)
	}
	out := map[string]string{}
	for i := 0; i < len(list); i += 2 {
		if _, dup := out[list[i]]; dup {
			t.Errorf("file %s given twice", list[i])
		}
		out[list[i]] = list[i+1]
	}
	return out
}

func TestReportFiles(t *testing.T) {
	planned := realPlan(t, environment.Prod)
	planned.Sections = []string{"", "### Stored plan\n"}
	finding := findings.Finding{Tool: "trivy", RuleID: "AVD-AWS-0089", Severity: findings.High, Message: "bucket logging <off>",
		File: "storage.tf", Line: 3}
	tests := report.Suite{Name: "post-deploy prod", Cases: []report.Case{{Name: "health"}}}
	cases := []struct {
		name        string
		report      Report
		verdict     gate.Verdict
		wantFiles   []string
		noFiles     []string
		wantSummary []string
		errNone     []string // reasons Err leaves out: it says why the run blocked
	}{
		{
			name: "a run with no plan still reports every step",
			report: Report{
				Run:   Run{Env: environment.Test},
				Steps: []StepReport{{Outcome: Outcome{Step: StepPlan, Verdict: gate.Block, Reasons: []string{"terraform init failed"}}, Markdown: "### plan\nfailed\n"}},
			},
			verdict:     gate.Block,
			wantFiles:   []string{"summary.md", "comment.md", ResultFile, "results.sarif", "junit.xml", "outputs.env", "annotations.txt"},
			noFiles:     []string{"plan.txt"},
			wantSummary: []string{"# test pipeline: block", "- **block** Plan: terraform init failed", "### plan\nfailed"},
		},
		{
			name: "prod blocks its delete; steps arrive out of order, findings annotate, tests and extra files are kept",
			report: Report{
				Run: Run{Env: environment.Prod, Why: "event push on refs/heads/main"},
				Steps: []StepReport{
					{Outcome: Outcome{Step: StepSecurityScan, Verdict: gate.Warn, Reasons: []string{"1 finding"}}, Markdown: "### security scan\n", Tools: []string{"trivy"}, Findings: []findings.Finding{finding}},
					{Outcome: Outcome{Step: StepPlan, Verdict: planned.Decision.Verdict, Reasons: planned.Decision.Reasons}},
					{Outcome: Outcome{Step: StepLint, Verdict: gate.Pass}},
				},
				Plan:          planned,
				Tests:         &tests,
				Notifications: []notify.Delivery{{Channel: environment.Channel("slack"), Delivered: true, Attempts: 1}},
				SARIF:         findings.SARIFOptions{Root: "terraform"},
				FailAt:        findings.High,
				Extra:         []string{"import-report.md", "# imports\n"},
			},
			verdict:   gate.Block,
			wantFiles: []string{"plan.txt", "import-report.md"},
			wantSummary: []string{"# prod pipeline: block", "Environment chosen by event push on refs/heads/main.",
				"| Lint | pass |\n| Security scan | warn |\n| Plan | block |", "### Stored plan", "slack"},
			errNone: []string{"1 finding"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.report.Reproduce = Call(nil, "pipeline").Flag("env", string(c.report.Run.Env))
			list, res, err := c.report.Files()
			if err != nil {
				t.Fatal(err)
			}
			got := files(t, list)
			for _, f := range append(c.wantFiles, "summary.md", ResultFile) {
				if _, ok := got[f]; !ok {
					t.Errorf("no %s among %d files", f, len(got))
				}
			}
			for _, f := range c.noFiles {
				if _, ok := got[f]; ok {
					t.Errorf("unexpected %s", f)
				}
			}
			if res.Verdict != c.verdict {
				t.Errorf("verdict %s, want %s", res.Verdict, c.verdict)
			}
			blocked := c.report.Err()
			if (blocked != nil) != (c.verdict == gate.Block) {
				t.Errorf("Err() = %v, want an error only for block", blocked)
			}
			for _, o := range c.report.Outcomes() {
				for _, r := range o.Reasons {
					if in := blocked != nil && strings.Contains(blocked.Error(), r); in != (o.Verdict == gate.Block) {
						t.Errorf("Err() holds %q: %v; want only the reasons of blocking steps:\n%v", r, in, blocked)
					}
				}
			}
			for _, n := range c.errNone {
				if blocked != nil && strings.Contains(blocked.Error(), n) {
					t.Errorf("Err() holds %q:\n%v", n, blocked)
				}
			}
			summary := got["summary.md"]
			for _, want := range c.wantSummary {
				if !strings.Contains(summary, want) {
					t.Errorf("summary lacks %q:\n%s", want, summary)
				}
			}
			if !strings.HasPrefix(summary, "# "+string(c.report.Run.Env)+" pipeline: ") {
				t.Errorf("summary does not start with its header:\n%s", summary)
			}
			if !strings.HasSuffix(strings.TrimSpace(summary), "```") || !strings.Contains(summary, c.report.Reproduce.String()) {
				t.Errorf("summary does not end with the reproduce line:\n%s", summary)
			}
			if !strings.HasPrefix(got["comment.md"], report.CommentMarker(string(c.report.Run.Env))) {
				t.Errorf("comment.md does not start with its marker: %.80q", got["comment.md"])
			}
			var back RunResult
			if err := json.Unmarshal([]byte(got[ResultFile]), &back); err != nil {
				t.Fatalf("result.json: %v", err)
			}
			if back.Verdict != c.verdict || len(back.Steps) != len(c.report.Steps) || back.Outputs["reproduce"] != c.report.Reproduce.String() ||
				len(back.Notifications) != len(c.report.Notifications) || (back.Plan != nil) != (c.report.Plan != nil) {
				t.Errorf("result.json does not hold the run: %s", got[ResultFile])
			}
			var junit struct {
				Suites []struct {
					Name  string `xml:"name,attr"`
					Cases []struct {
						Name string `xml:"name,attr"`
					} `xml:"testcase"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal([]byte(got["junit.xml"]), &junit); err != nil {
				t.Fatalf("junit.xml: %v", err)
			}
			wantSuites := 1
			if c.report.Tests != nil {
				wantSuites = 2
			}
			if len(junit.Suites) != wantSuites || len(junit.Suites[0].Cases) != len(c.report.Steps) {
				t.Errorf("junit.xml: %d suites, the first with %d cases; want %d and %d", len(junit.Suites), len(junit.Suites[0].Cases), wantSuites, len(c.report.Steps))
			}
			for _, s := range c.report.Steps {
				for _, f := range s.Findings {
					if !strings.Contains(got["results.sarif"], f.RuleID) || !strings.Contains(got["annotations.txt"], "terraform/"+f.File) {
						t.Errorf("finding %s is missing from SARIF or annotations:\n%s", f.RuleID, got["annotations.txt"])
					}
				}
			}
		})
	}
}

func TestReportMessage(t *testing.T) {
	planned := realPlan(t, environment.Test)
	r := Report{Run: Run{Env: environment.Test}, Plan: planned, Reproduce: Call(nil, "pipeline").Flag("env", "test"),
		Steps: []StepReport{{Outcome: Outcome{Step: StepCost, Verdict: gate.Warn, Reasons: []string{"over budget"}}}}}
	m := r.Message()
	if m.Check != "pipeline" || m.Env != environment.Test || m.Verdict != "warn" || len(m.Reasons) != 1 ||
		m.Counts["create"] != 1 || m.Counts["delete"] != 1 || m.Reproduce != "dagger call pipeline --env=test export --path=./reports" {
		t.Errorf("message %+v", m)
	}
	if m := (&Report{Run: Run{Env: environment.Test}}).Message(); m.Counts != nil {
		t.Errorf("a run without a plan counts %v", m.Counts)
	}
	// A failed plan's reason holds Terraform's output: the message names its error in one
	// line (real output of a plan without a required variable).
	failed := NewRecorder(profile(t, "test"), time.Now())
	failed.Failed(StepPlan, StepFailed("terraform plan", "test", 1, strings.Repeat("noise\n", 60)+string(readTestdata(t, "plan-required-variable-unset.txt")), time.Minute, time.Now()))
	m = (&Report{Run: Run{Env: environment.Test}, Steps: failed.Steps()}).Message()
	if want := "Plan: terraform plan failed in test (exit code 1): Error: No value for required variable (the run's report has the rest)"; len(m.Reasons) != 1 || m.Reasons[0] != want {
		t.Errorf("reasons %q, want %q", m.Reasons, want)
	}
}

// FuzzReportFiles: whatever the steps' reasons and sections hold, the report is written,
// the summary fits GitHub's limit, starts with its header and ends with the reproduce line.
func FuzzReportFiles(f *testing.F) {
	f.Add("terraform init failed", "### plan\n", 3)
	f.Add("<script>alert(1)</script>\n- **pass**", "```\nunclosed fence", 40)
	f.Add(strings.Repeat("x", 70000), strings.Repeat("| a |\n", 20000), 1)
	f.Fuzz(func(t *testing.T, reason, section string, n int) {
		if n < 0 || n > 50 {
			n %= 50
			if n < 0 {
				n = -n
			}
		}
		r := Report{Run: Run{Env: environment.Staging}, Reproduce: Call(nil, "pipeline").Flag("env", "staging")}
		for i := 0; i <= n; i++ {
			r.Steps = append(r.Steps, StepReport{Outcome: Outcome{Step: StepSecurityScan, Verdict: gate.Warn, Reasons: []string{reason}}, Markdown: section})
		}
		list, res, err := r.Files()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for i := 0; i+1 < len(list); i += 2 {
			got[list[i]] = list[i+1]
		}
		summary := got["summary.md"]
		if len(summary) > report.MaxMarkdown {
			t.Errorf("summary of %d bytes, over the limit %d", len(summary), report.MaxMarkdown)
		}
		if !strings.HasPrefix(summary, "# staging pipeline: warn") || !strings.Contains(summary, "dagger call pipeline --env=staging") {
			t.Errorf("summary lost its header or reproduce line: %.200q ... %.200q", summary, summary[max(0, len(summary)-200):])
		}
		if res.Verdict != gate.Warn {
			t.Errorf("verdict %s", res.Verdict)
		}
	})
}

// A run that blocks and also warns: result.json keeps every reason, and verdict on the
// kept report fails with the blocking one alone, as the run itself did.
func TestVerdictNamesOnlyWhatBlocks(t *testing.T) {
	p := profile(t, "test")
	rec := NewRecorder(p, time.Now())
	scan := Scan{Tools: []string{"checkov", "trivy"},
		Broken: []ToolFailure{{Tool: Tool{Name: "checkov", Image: "bridgecrew/checkov:3.2.524", Flag: "checkov-image"}, Err: errors.New("pull access denied")}},
		Findings: []findings.Finding{{Tool: "trivy", RuleID: "AWS-0086", Severity: findings.Critical,
			Message: "No public access block so not blocking public acls", File: "main.tf", Line: 1}}}
	rec.Add(scan.Step(StepSecurityScan, p, p.SeverityThreshold))
	r := Report{Run: Run{Env: p.Name}, Steps: rec.Steps(), Reproduce: Call(nil, "pipeline")}
	files, _, err := r.Files()
	if err != nil {
		t.Fatal(err)
	}
	res, err := ReadReport(reportOnDisk(t, files))
	if err != nil {
		t.Fatal(err)
	}
	blocking := "Security scan: security scan: 1 finding(s) at or above CRITICAL: AWS-0086 (main.tf:1)"
	if len(res.Reasons) != 2 || res.Reasons[0] != blocking || !strings.Contains(res.Reasons[1], "checkov could not run") {
		t.Errorf("result.json reasons %q, want the block and the warning", res.Reasons)
	}
	for _, err := range []error{res.Err(), r.Err()} {
		if err == nil || err.Error() != "test pipeline blocked:\n- "+blocking {
			t.Errorf("the failure: %v; want the blocking reason alone", err)
		}
	}
}
