package pipeline

import (
	"os"
	"path/filepath"
	"slices"
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
		{findings.Low, gate.Block, "security scan: 2 finding(s) at or above LOW"},
		{findings.Info, gate.Block, "security scan: 3 finding(s) at or above INFO"},
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
