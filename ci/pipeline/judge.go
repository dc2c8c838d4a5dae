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
// (ci/riskdiff), "" when there are none. forceRecreate judges it as apply --force-recreate
// would.
func Judge(env environment.Name, profile environment.Profile, planJSON, text string, forceRecreate bool) (*PlanReport, error) {
	a, err := plan.Analyze(strings.NewReader(planJSON))
	if err != nil {
		return nil, fmt.Errorf("%s plan: %w", env, err)
	}
	a.KeepRelevantDrift()
	diffs, err := riskdiff.Read(strings.NewReader(planJSON))
	if err != nil {
		return nil, fmt.Errorf("%s plan: %w", env, err)
	}
	return &PlanReport{Analysis: a, Profile: profile, Decision: gate.Decide(a, profile, gate.Options{ForceRecreate: forceRecreate}),
		Text: text, Sections: []string{riskdiff.Markdown(diffs, MaxRiskyRows)}}, nil
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

// VarFileCandidates are the files that may be the environment's var file, in the order the
// module looks for them (relative to the Terraform directory): pipeline.yaml's var_file, or
// the built-in environments/<env>.tfvars and then its JSON form, which Terraform reads as
// well (a stack written in JSON had its values ignored without a word).
func VarFileCandidates(p environment.Profile) []string {
	switch {
	case p.VarFile == "":
		return nil
	case p.VarFileSet:
		return []string{p.VarFile}
	}
	return []string{p.VarFile, p.VarFile + ".json"}
}

// VarFileArgs are terraform's variable file flags: the environment's file when the stack
// has one (found: the first of VarFileCandidates that exists, "" for none), then the secret
// file (--tf-var-file, "" when not given), so secrets win. A var_file that pipeline.yaml
// names and the stack lacks is an error: planning without it would deploy the variables'
// defaults, where the built-in one may be missing from a stack that needs no variables.
func VarFileArgs(p environment.Profile, found string, secretFile string) ([]string, error) {
	var args []string
	switch {
	case found != "":
		args = append(args, "-var-file="+found)
	case p.VarFile != "" && p.VarFileSet:
		return nil, fmt.Errorf("pipeline.yaml's var_file for %s is %s, which is not in the Terraform directory: add the file, or correct var_file (a path relative to the Terraform directory)", p.Name, p.VarFile)
	}
	if secretFile != "" {
		args = append(args, "-var-file="+secretFile)
	}
	return args, nil
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
