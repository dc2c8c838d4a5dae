package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/cost"
	"github.com/infrapipe/infrapipe/ci/gate"
)

func TestEstimateCost(t *testing.T) {
	report := readTestdata(t, "infracost-breakdown-aws-example-plan.json")
	infracost := Tool{Name: "infracost", Image: "infracost/infracost:ci-0.10", Flag: "infracost-image"}
	for _, tt := range []struct {
		name        string
		env         string
		monthly     float64 // the budget's monthly total; 0 is none
		out         []byte
		runErr      error
		noKey       bool
		wantStatus  cost.Status
		wantVerdict gate.Verdict
		wantText    string // in the cost section
		wantCost    bool   // the record keeps an estimate
	}{
		{"within budget", "test", 0, report, nil, false, cost.WithinBudget, gate.Pass, "", true},
		{"over budget blocks", "staging", 1, report, nil, false, cost.OverBudget, gate.Block, "exceeds the budget of 1.00 USD", true},
		{"Infracost missing warns in test", "test", 0, nil, errors.New("pull access denied"), false, cost.NotEvaluated, gate.Warn, "infracost", false},
		{"Infracost missing blocks in prod", "prod", 0, nil, errors.New("exit code: 2"), false, cost.NotEvaluated, gate.Block, "infracost breakdown: exit code: 2", false},
		{"no key warns in test", "test", 0, nil, nil, true, cost.NotEvaluated, gate.Warn, NoCostKeyReason, false},
		{"no key blocks in prod, which requires an estimate", "prod", 0, nil, nil, true, cost.NotEvaluated, gate.Block, NoCostKeyReason + "; prod requires an estimate: give the key, or set environments.prod.budget.require_estimate: false in pipeline.yaml", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := profile(t, tt.env)
			p.Budget.MonthlyTotal = tt.monthly
			est := NoEstimate(p)
			if !tt.noKey {
				var err error
				if est, err = EstimateCost(p, tt.out, tt.runErr, infracost); err != nil {
					t.Fatal(err)
				}
			}
			s := est.Step()
			if est.Result.Status != tt.wantStatus || s.Verdict != tt.wantVerdict || s.Step != StepCost || (s.Cost != nil) != tt.wantCost {
				t.Errorf("status %s, verdict %s (%q), step %q, estimate kept %v", est.Result.Status, s.Verdict, s.Reasons, s.Step, s.Cost != nil)
			}
			if !strings.Contains(s.Markdown, tt.wantText) {
				t.Errorf("cost section lacks %q:\n%s", tt.wantText, s.Markdown)
			}
			// The cost function's answer: the section and the reproduce line, inside the
			// error when the estimate blocks.
			reproduce := Call(nil, "cost").Flag("env", tt.env)
			summary, err := est.Summary(reproduce)
			text := summary
			if err != nil {
				text = err.Error()
			}
			if (err != nil) != (tt.wantVerdict == gate.Block) || !strings.Contains(text, s.Markdown) || !strings.Contains(text, reproduce.String()) {
				t.Errorf("Summary() = %q, %v; want the section and the reproduce line, an error only on block", summary, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "cost check failed in "+tt.env) {
				t.Errorf("the error does not name %s: %v", tt.env, err)
			}
		})
	}
	if _, err := EstimateCost(profile(t, "test"), []byte("{not json"), nil, infracost); err == nil || !strings.Contains(err.Error(), "infracost.json") {
		t.Errorf("an unreadable report: error %v, want one naming infracost.json", err)
	}
}
