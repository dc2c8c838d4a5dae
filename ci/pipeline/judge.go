package pipeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/plan"
	"github.com/infrapipe/infrapipe/ci/riskdiff"
	"github.com/infrapipe/infrapipe/ci/runs"
)

// MaxRiskyRows bounds the access and encryption table of a summary; the plan has the rest.
const MaxRiskyRows = 30

// Judge reads a plan (terraform show -json, and its text for plan.txt) of env through
// ci/plan and ci/gate: the report's Sections start with its access and encryption changes
// (ci/riskdiff), "" when there are none. masked (SecretValues) are hidden from both, as are
// the values the plan marks sensitive. opts are the gate's (--force-recreate, warnings
// from beside the plan).
func Judge(env environment.Name, profile environment.Profile, planJSON, text string, masked []string, opts gate.Options) (*PlanReport, error) {
	a, err := plan.Analyze(strings.NewReader(planJSON))
	if err != nil {
		return nil, fmt.Errorf("%s plan: %w", env, err)
	}
	a.KeepRelevantDrift()
	for i, c := range a.FailedChecks { // the gate quotes them cut short: mask them whole first
		a.FailedChecks[i].Problems = redactAll(c.Problems, masked)
	}
	diffs, err := riskdiff.Read(strings.NewReader(planJSON), masked)
	if err != nil {
		return nil, fmt.Errorf("%s plan: %w", env, err)
	}
	full, err := plan.Decode(strings.NewReader(planJSON))
	if err != nil {
		return nil, fmt.Errorf("%s plan: read plan for its sensitive values and imports: %w", env, err)
	}
	sensitive := plan.Sensitive(full)
	opts.HeldImports = plan.HeldImports(full)
	d := gate.Decide(a, profile, opts)
	d.Reasons = redactAll(d.Reasons, masked) // a check's message may interpolate a value
	return &PlanReport{Analysis: a, Profile: profile, Decision: d,
		Text: Redact(Redact(text, masked), longEnough(sensitive)), Sections: []string{riskdiff.Markdown(diffs, MaxRiskyRows)}}, nil
}

// longEnough are the values of MinMasked characters or more. Terraform's text shows a
// sensitive value in clear where an attribute derived from it lost the mark (a
// terraform_data's output before an update); masking short ones would garble the plan.
func longEnough(values []string) []string {
	var out []string
	for _, v := range values {
		if len(v) >= MinMasked {
			out = append(out, v)
		}
	}
	return out
}

// PlanFacts are an apply's run record once its plan is judged (base: kind, commit, start):
// the plan's counts and the plan step from started to ended, so a run that stops at the gate
// or fails later still records its plan.
func (p *PlanReport) PlanFacts(base runs.Facts, started, ended time.Time) runs.Facts {
	f := base
	f.Plan, f.Steps = &p.Analysis.Counts, []runs.Step{runs.StepOf(string(StepPlan), p.Decision.Verdict, 0, started, ended)}
	return f
}

// Facts are the record of an apply that ran, over planned (PlanFacts): the gate's verdict
// and reasons, whether anything was applied, and the apply step from started to ended.
func (a Apply) Facts(planned runs.Facts, started, ended time.Time) runs.Facts {
	f := planned
	f.Verdict, f.Reasons, f.Applied = a.Plan.Decision.Verdict, a.Plan.Decision.Reasons, a.Applied
	f.Steps = append(append([]runs.Step{}, f.Steps...), runs.StepOf(string(StepApply), gate.Pass, 0, started, ended))
	return f
}

// ImportFacts are the run record of an import call that ended with err: its one step, and
// applied only when it was no dry run and succeeded.
func ImportFacts(started, ended time.Time, dryRun bool, err error, reproduce Command) runs.Facts {
	verdict := gate.Pass
	if err != nil {
		verdict = gate.Block
	}
	return runs.Facts{Kind: runs.KindImport, Started: started, Ended: ended, DryRun: dryRun, Applied: err == nil && !dryRun,
		Steps: []runs.Step{runs.StepOf(string(StepImport), verdict, 0, started, ended)}, Reproduce: reproduce.String()}.Outcome(err)
}
