package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/cost"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestFindingsOutcome(t *testing.T) {
	// Real tflint output: one notice (INFO) and two warnings (LOW).
	fs, err := findings.ParseTflintJSON("tflint.json", readTestdata(t, "tflint-json-info-and-warning.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		threshold findings.Severity
		verdict   gate.Verdict
		reason    string
	}{
		{findings.Critical, gate.Pass, ""},
		{findings.Low, gate.Block, "security scan: 2 finding(s) at or above LOW: terraform_required_version (main.tf:1), terraform_unused_declarations (main.tf:1)"},
		{findings.Info, gate.Block, "security scan: 3 finding(s) at or above INFO: terraform_required_version (main.tf:1), terraform_unused_declarations (main.tf:1), terraform_documented_variables (main.tf:1)"},
	}
	for _, tt := range tests {
		o, res := FindingsOutcome(StepSecurityScan, fs, tt.threshold)
		if o.Verdict != tt.verdict || res.Passed() != (tt.verdict == gate.Pass) {
			t.Errorf("threshold %s: verdict %s, passed %v; want %s", tt.threshold, o.Verdict, res.Passed(), tt.verdict)
		}
		if got := o.Reasons; (tt.reason == "" && len(got) > 0) || (tt.reason != "" && (len(got) != 1 || got[0] != tt.reason)) {
			t.Errorf("threshold %s: reasons %q, want %q", tt.threshold, got, tt.reason)
		}
	}
}

func TestCostOutcome(t *testing.T) {
	report, err := cost.Parse("infracost.json", readTestdata(t, "infracost-breakdown-aws-example-plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		res     cost.Result
		verdict gate.Verdict
	}{
		{"no bound", cost.Evaluate(report, environment.Budget{}, 10), gate.Pass},
		{"over the monthly total", cost.Evaluate(report, environment.Budget{MonthlyTotal: 1}, 10), gate.Block},
		{"no estimate", cost.NotEvaluatedResult("no API key", environment.Budget{}), gate.Warn},
		{"no estimate where one is required", cost.NotEvaluatedResult("no API key", environment.Budget{RequireEstimate: true}), gate.Block},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := CostOutcome(tt.res)
			if o.Verdict != tt.verdict || o.Step != StepCost {
				t.Fatalf("outcome %+v, want verdict %s", o, tt.verdict)
			}
			if (o.Verdict == gate.Pass) != (len(o.Reasons) == 0) {
				t.Errorf("reasons %q for verdict %s", o.Reasons, o.Verdict)
			}
		})
	}
}

func TestTestsOutcome(t *testing.T) {
	if o := TestsOutcome(nil); o.Verdict != gate.Pass || o.Step != StepTests {
		t.Errorf("no failures: %+v", o)
	}
	failed := []string{"outputs readable: terraform output failed"}
	if o := TestsOutcome(failed); o.Verdict != gate.Block || !slices.Equal(o.Reasons, failed) {
		t.Errorf("a failure: %+v", o)
	}
}

func TestLintOutcome(t *testing.T) {
	// Real tflint output: one notice (INFO) and two warnings (LOW).
	warnings, err := findings.ParseTflintJSON("tflint.json", readTestdata(t, "tflint-json-info-and-warning.json"))
	if err != nil {
		t.Fatal(err)
	}
	var notices []findings.Finding
	for _, f := range warnings {
		if f.Severity == findings.Info {
			notices = append(notices, f)
		}
	}
	tests := []struct {
		name        string
		unformatted []string
		validate    string
		tflint      []findings.Finding
		failAt      findings.Severity
		verdict     gate.Verdict
		reasons     []string
	}{
		{"clean", nil, "", nil, LintFailAt, gate.Pass, nil},
		{"tflint notices only", nil, "", notices, LintFailAt, gate.Pass, nil},
		{"everything", []string{"terraform/main.tf"}, "Error: Unsupported argument\n  on main.tf line 3", warnings, LintFailAt, gate.Block,
			[]string{"1 file(s) not formatted (terraform/main.tf): run terraform fmt -recursive", "terraform validate failed",
				"tflint: 2 finding(s) at or above LOW: terraform_required_version (main.tf:1), terraform_unused_declarations (main.tf:1)"}},
		{"validate only", nil, "Error: Missing required argument", nil, findings.Critical, gate.Block, []string{"terraform validate failed"}},
		// In test (threshold CRITICAL), tflint's warnings (such as terraform_required_version)
		// are reported and warn; they do not block the pipeline.
		{"warnings under the environment's threshold", nil, "", warnings, findings.Critical, gate.Warn,
			[]string{"tflint: 2 finding(s) below CRITICAL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := LintOutcome(tt.unformatted, tt.validate, tt.tflint, tt.failAt)
			if !slices.Equal(o.Reasons, tt.reasons) {
				t.Errorf("reasons %q, want %q", o.Reasons, tt.reasons)
			}
			if o.Verdict != tt.verdict || o.Step != StepLint {
				t.Errorf("outcome %+v, want %s", o, tt.verdict)
			}
			// The pipeline's lint step: its section says what its verdict says.
			step := Lint{Unformatted: tt.unformatted, Validate: tt.validate, Tflint: tt.tflint}.Step(environment.Profile{SeverityThreshold: tt.failAt}, true)
			if failed := strings.Contains(step.Markdown, "**Failed**"); failed != (len(tt.tflint) > 0 && tt.verdict == gate.Block) {
				t.Errorf("the step's verdict is %s, its section says **Failed**: %v\n%s", tt.verdict, failed, step.Markdown)
			}
			if tt.failAt != LintFailAt {
				return
			}
			// The lint function's answer, judged at LintFailAt: the section and the reproduce
			// line, inside the error when lint blocks.
			l := Lint{Unformatted: tt.unformatted, Validate: tt.validate, Tflint: tt.tflint}
			summary, err := l.Summary(Call(nil, "lint"))
			text := summary
			if err != nil {
				text = err.Error()
			}
			if (err != nil) != (tt.verdict == gate.Block) || !strings.Contains(text, l.Markdown(LintFailAt)) || !strings.Contains(text, "dagger call lint") {
				t.Errorf("Summary() = %q, %v", summary, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "lint failed: "+strings.Join(tt.reasons, "; ")) {
				t.Errorf("the error does not give the reasons: %v", err)
			}
		})
	}
}

// Without tflint (a basic-validation profile) its findings neither count nor reach SARIF,
// and it gets no SARIF run: an empty one would close its alerts in code scanning.
func TestLintStep(t *testing.T) {
	// Real tflint output: one notice (INFO) and two warnings (LOW).
	warnings, err := findings.ParseTflintJSON("tflint.json", readTestdata(t, "tflint-json-info-and-warning.json"))
	if err != nil {
		t.Fatal(err)
	}
	l := Lint{Tflint: warnings}
	for _, tt := range []struct {
		tflint   bool
		verdict  gate.Verdict
		findings int
		tools    []string
	}{{true, gate.Block, len(warnings), []string{"tflint"}}, {false, gate.Pass, 0, nil}} {
		st := l.Step(environment.Profile{SeverityThreshold: findings.Low}, tt.tflint)
		if st.Verdict != tt.verdict || len(st.Findings) != tt.findings || !slices.Equal(st.Tools, tt.tools) || st.Markdown == "" {
			t.Errorf("Step(tflint %v) = %+v; want %s with %d findings", tt.tflint, st, tt.verdict, tt.findings)
		}
	}
	if len(l.Tflint) != len(warnings) {
		t.Errorf("Step changed the lint result it was called on")
	}
}

// A tflint that could not run (a plugin it cannot download: tflint's own words) leaves
// fmt and validate standing: an unformatted file still blocks, and tflint is judged as a
// tool that could not run, a warning in test and a block in prod, with no SARIF run.
func TestLintStepTflintFailed(t *testing.T) {
	failed := &ToolFailure{Tool: Tool{Name: "tflint", Image: "ghcr.io/terraform-linters/tflint:v0.64.0", Flag: "tflint-image"},
		Err: errors.New("exit code 1:\nInstalling \"aws\" plugin...\nFailed to install a plugin; Failed to fetch GitHub releases: Get \"https://api.github.com/repos/terraform-linters/tflint-ruleset-aws/releases/tags/v0.38.0\": dial tcp: lookup api.github.com: no such host")}
	test, prod := profile(t, "test"), profile(t, "prod")
	for _, tt := range []struct {
		name    string
		l       Lint
		p       environment.Profile
		verdict gate.Verdict
		reasons []string
	}{
		{"clean code, test", Lint{TflintFailed: failed}, test, gate.Warn, nil},
		{"clean code, prod", Lint{TflintFailed: failed}, prod, gate.Block, nil},
		{"unformatted code, test", Lint{Unformatted: []string{"terraform/main.tf"}, TflintFailed: failed}, test, gate.Block,
			[]string{"1 file(s) not formatted (terraform/main.tf): run terraform fmt -recursive"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.l.Step(tt.p, true)
			all := append(slices.Clone(st.Reasons), st.Warnings...)
			if st.Verdict != tt.verdict || st.Tools != nil || !slices.ContainsFunc(all, func(r string) bool { return strings.Contains(r, "lookup api.github.com: no such host") }) {
				t.Errorf("step %+v; want %s, no tools, and tflint's reason", st.Outcome, tt.verdict)
			}
			for _, r := range tt.reasons {
				if !slices.Contains(st.Reasons, r) {
					t.Errorf("reasons %q lack %q", st.Reasons, r)
				}
			}
			if !strings.Contains(st.Markdown, "- tflint: could not run:") || !strings.Contains(st.Markdown, "Failed to install a plugin") {
				t.Errorf("section:\n%s", st.Markdown)
			}
		})
	}
	if _, err := (Lint{TflintFailed: failed}).Summary(Call(nil, "lint")); err == nil || !strings.Contains(err.Error(), "tflint could not run") {
		t.Errorf("the lint function on a tflint that could not run: %v", err)
	}
}
