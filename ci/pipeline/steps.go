package pipeline

import (
	"slices"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/importer"
)

// Step is one step of the pipeline; its value is the heading of its report section.
type Step string

// The steps in the order the report lists them, whatever order they finish in.
const (
	StepLint         Step = "Lint"
	StepSecurityScan Step = "Security scan"
	StepImport       Step = "Import"
	StepPlan         Step = "Plan"
	StepCompliance   Step = "Compliance"
	StepCost         Step = "Cost"
	StepApply        Step = "Apply"
	StepTests        Step = "Post-deploy tests"
)

// Order is the report order of the steps.
var Order = []Step{StepLint, StepSecurityScan, StepImport, StepPlan, StepCompliance, StepCost, StepApply, StepTests}

// Options are the caller's switches for one run.
type Options struct {
	DryRun    bool   // plan, check and report; import and apply nothing
	SkipTests bool   // no post-deploy tests
	Project   string // project tag value import discovery looks for; import needs it
}

// Plan is the set of steps one run executes, decided before anything runs so the report
// can say why a step is missing.
type Plan struct {
	steps []Step
	// Tflint: the lint step runs tflint besides fmt and validate (profiles with the lint
	// check; basic validation is fmt and validate only).
	Tflint bool
}

// NewPlan decides the steps from the environment's profile and the caller's options:
// checks come from the profile, import needs an import strategy and a project, and a dry
// run neither applies nor tests what it did not apply.
func NewPlan(p environment.Profile, o Options) Plan {
	has := func(c environment.Check) bool { return slices.Contains(p.Checks, c) }
	var steps []Step
	add := func(s Step, on bool) {
		if on {
			steps = append(steps, s)
		}
	}
	add(StepLint, has(environment.CheckFmt) || has(environment.CheckValidate) || has(environment.CheckLint))
	add(StepSecurityScan, has(environment.CheckSecurity))
	add(StepImport, importer.Enabled(p) && o.Project != "")
	add(StepPlan, true)
	add(StepCompliance, has(environment.CheckCompliance))
	add(StepCost, has(environment.CheckCost))
	add(StepApply, !o.DryRun)
	add(StepTests, !o.DryRun && !o.SkipTests)
	return Plan{steps: steps, Tflint: has(environment.CheckLint)}
}

// Runs reports whether the plan includes a step.
func (p Plan) Runs(s Step) bool { return slices.Contains(p.steps, s) }

// Steps lists the planned steps in report order.
func (p Plan) Steps() []Step { return slices.Clone(p.steps) }
