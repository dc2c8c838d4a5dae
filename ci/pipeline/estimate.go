package pipeline

import (
	"fmt"

	"github.com/infrapipe/infrapipe/ci/cost"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
)

// topCostChanges is how many resources the cost section lists.
const topCostChanges = 10

// NoCostKeyReason is why a run without an Infracost API key has no estimate.
const NoCostKeyReason = "no Infracost API key was given (--infracost-api-key=env:INFRACOST_API_KEY)"

// Estimate is the cost step's result: the estimate against the environment's budget, and
// Infracost when it could not run.
type Estimate struct {
	Profile environment.Profile
	Result  cost.Result
	Broken  []ToolFailure
}

// NoEstimate is the cost step of a run without an Infracost API key.
func NoEstimate(p environment.Profile) Estimate {
	reason := NoCostKeyReason
	if p.Budget.RequireEstimate {
		// Blocking; the reader should find both ways out.
		reason += fmt.Sprintf("; %s requires an estimate: give the key, or set environments.%s.budget.require_estimate: false in pipeline.yaml", p.Name, p.Name)
	}
	return Estimate{Profile: p, Result: cost.NotEvaluatedResult(reason, p.Budget)}
}

// EstimateCost reads Infracost's JSON report (out) of the plan and judges it against the
// profile's budget. runErr is Infracost failing to run (its image missing, a crash): then
// there is no estimate, and the failure counts as the profile says; an unreadable report is
// an error.
func EstimateCost(p environment.Profile, out []byte, runErr error, infracost Tool) (Estimate, error) {
	if runErr != nil {
		broken := ToolFailure{Tool: infracost, Err: fmt.Errorf("infracost breakdown: %w", runErr)}
		reason := broken.Error() + "; " + CouldNotRunEffect(p)
		return Estimate{Profile: p, Result: cost.NotEvaluatedResult(reason, p.Budget), Broken: []ToolFailure{broken}}, nil
	}
	report, err := cost.Parse("infracost.json", out)
	if err != nil {
		return Estimate{}, err
	}
	return Estimate{Profile: p, Result: cost.Evaluate(report, p.Budget, topCostChanges)}, nil
}

// Step is the estimate as the pipeline's cost step: the budget's verdict and Infracost's
// failure merged, the cost section, and the estimate for the run record when there is one.
func (e Estimate) Step() StepReport {
	s := StepReport{Outcome: Merge(CostOutcome(e.Result), ToolsOutcome(e.Profile, StepCost, e.Broken)), Markdown: e.Result.Markdown()}
	if e.Result.Status != cost.NotEvaluated {
		s.Cost = &e.Result.Report
	}
	return s
}

// Summary is the cost function's answer: the cost section and the reproduce line, or, when
// the estimate blocks, an error that holds both.
func (e Estimate) Summary(reproduce Command) (string, error) {
	step := e.Step()
	summary := step.Markdown + reproduce.Markdown()
	if step.Verdict == gate.Block {
		return "", fmt.Errorf("cost check failed in %s:\n\n%s", e.Profile.Name, summary)
	}
	return summary, nil
}
