package pipeline

import (
	"errors"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/cost"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/runs"
)

// The run record of a report keeps what its steps said: the verdict, each step's time, the
// plan's counts, the findings, the estimate, and "applied" only when apply passed on a plan
// that changed something.
func TestReportFacts(t *testing.T) {
	planned := realPlan(t, environment.Test)
	tflint, err := findings.ParseTflintJSON("tflint.json", readTestdata(t, "tflint-json-info-and-warning.json"))
	if err != nil {
		t.Fatal(err)
	}
	estimate, err := cost.Parse("infracost.json", readTestdata(t, "infracost-breakdown-aws-example-plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC)
	step := func(s Step, v gate.Verdict, minutes int) StepReport {
		return StepReport{Outcome: Outcome{Step: s, Verdict: v}, Started: t0, Ended: t0.Add(time.Duration(minutes) * time.Minute)}
	}
	lint := step(StepLint, gate.Warn, 1)
	lint.Reasons, lint.Findings = []string{"lint: 2 warning(s)"}, tflint
	costStep := step(StepCost, gate.Pass, 2)
	costStep.Cost = &estimate
	base := runs.Facts{Kind: runs.KindPipeline, Commit: "abc", Started: t0}

	for _, tt := range []struct {
		name        string
		steps       []StepReport
		plan        *PlanReport
		wantVerdict gate.Verdict
		wantApplied bool
	}{
		{"applied a plan with changes", []StepReport{lint, step(StepPlan, gate.Pass, 3), costStep, step(StepApply, gate.Pass, 5)}, planned, gate.Warn, true},
		{"blocked before apply", []StepReport{lint, step(StepPlan, gate.Block, 3), costStep}, planned, gate.Block, false},
		{"no plan at all", []StepReport{lint, step(StepPlan, gate.Block, 1)}, nil, gate.Block, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Run: Run{Env: environment.Test}, Steps: tt.steps, Plan: tt.plan, Reproduce: Call(nil, "pipeline").Flag("env", "test")}
			f := r.Facts(base)
			if f.Kind != runs.KindPipeline || f.Commit != "abc" || f.Verdict != tt.wantVerdict || f.Applied != tt.wantApplied {
				t.Errorf("kind %s commit %q verdict %s applied %v", f.Kind, f.Commit, f.Verdict, f.Applied)
			}
			if len(f.Steps) != len(tt.steps) || f.Steps[0].DurationMS != 60000 {
				t.Errorf("steps %+v, want one per step, lint taking 60 s", f.Steps)
			}
			if len(f.Findings) != len(tflint) || f.Reproduce != "dagger call pipeline --env=test export --path=./reports" {
				t.Errorf("%d findings, reproduce %q", len(f.Findings), f.Reproduce)
			}
			if (f.Plan != nil) != (tt.plan != nil) || (f.Cost != nil) != (len(tt.steps) > 2) {
				t.Errorf("plan %v, cost %v", f.Plan, f.Cost)
			}
		})
	}
}

// An import's record: one step, blocked with the error as its reason when the import
// failed, and applied only by a successful import that was no dry run.
func TestImportFacts(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC)
	reproduce := Call(nil, "import").Flag("env", "prod").Flag("project", "shop")
	for _, tt := range []struct {
		name        string
		dryRun      bool
		err         error
		wantVerdict gate.Verdict
		wantApplied bool
	}{
		{"imported", false, nil, gate.Pass, true},
		{"dry run", true, nil, gate.Pass, false},
		{"failed", false, errors.New("1 of the required imports failed"), gate.Block, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := ImportFacts(t0, t0.Add(90*time.Second), tt.dryRun, tt.err, reproduce)
			if f.Kind != runs.KindImport || f.Verdict != tt.wantVerdict || f.Applied != tt.wantApplied || f.DryRun != tt.dryRun {
				t.Errorf("kind %s verdict %s applied %v dry run %v", f.Kind, f.Verdict, f.Applied, f.DryRun)
			}
			if len(f.Steps) != 1 || f.Steps[0].Name != string(StepImport) || f.Steps[0].Verdict != tt.wantVerdict || f.Steps[0].DurationMS != 90000 {
				t.Errorf("steps %+v", f.Steps)
			}
			if tt.err != nil && (len(f.Reasons) != 1 || f.Reasons[0] != tt.err.Error()) {
				t.Errorf("reasons %q, want the error", f.Reasons)
			}
			if f.Reproduce != "dagger call import --env=prod --project=shop export --path=./import" {
				t.Errorf("reproduce %q", f.Reproduce)
			}
		})
	}
}
