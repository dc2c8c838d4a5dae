package pipeline

import (
	"fmt"
	"maps"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/planstore"
	"github.com/infrapipe/infrapipe/ci/report"
)

// Summary is the summary.md of plan and apply: the plan (ci/report), its Sections, more
// sections after them (the apply's), and the reproduce line, fitted together into GitHub's
// limit so that a long plan cannot push the stored plan's apply line or the reproduce line
// out.
func (p *PlanReport) Summary(reproduce Command, more ...string) string {
	sections := []report.Section{report.PlanSection(p.Result())}
	for _, s := range append(append([]string{}, p.Sections...), more...) {
		if s != "" {
			sections = append(sections, report.Text(s))
		}
	}
	sections = append(sections, report.Text(reproduce.Markdown()))
	return report.Summary(report.MaxMarkdown, sections...)
}

// Files is the report directory of plan, name then contents: plan.txt, summary.md,
// result.json (the plan's analysis and verdict, ci/report) and outputs.env (its outputs
// and the reproduce line, as the pipeline's: a workflow's second phase reads plan_ref and
// plan_sha256 there). The saved plan and plan.json are the module's to add: they hold
// secrets and are not text.
func (p *PlanReport) Files(reproduce Command, more ...string) ([]string, error) {
	res := p.Result()
	var js strings.Builder
	if err := res.WriteJSON(&js); err != nil {
		return nil, fmt.Errorf("write result.json: %w", err)
	}
	outputs := maps.Clone(res.Outputs)
	if outputs == nil {
		outputs = map[string]string{}
	}
	outputs["reproduce"] = reproduce.String()
	env, err := outputsEnv(outputs)
	if err != nil {
		return nil, err
	}
	return []string{"plan.txt", p.Text, "summary.md", p.Summary(reproduce, more...), ResultFile, js.String(), "outputs.env", env}, nil
}

// Stored records that the plan was stored as ref: its outputs gain plan_ref and
// plan_sha256 for a workflow's second phase, and the section a reviewer approves, with
// applyLine, is returned for the summary.
func (p *PlanReport) Stored(ref planstore.Ref, meta planstore.Meta, applyLine string) string {
	if p.Decision.Outputs == nil {
		p.Decision.Outputs = map[string]string{}
	}
	p.Decision.Outputs["plan_ref"], p.Decision.Outputs["plan_sha256"] = ref.Key(), meta.SHA256
	return planstore.Section(ref, meta, applyLine)
}

// NotStored is the stored-plan section of a plan --store-plan whose plan the safety gate
// blocked: the summary says nothing was stored, rather than leave the reader looking for a
// reference.
const NotStored = "## Stored plan\n\nNot stored: the safety gate blocked this plan, and a blocked plan is never applied. Fix what blocks it, then plan again.\n"

// Storable says whether the plan may be stored for a later apply: not when the gate blocked
// it, and then note is the summary's section saying so.
func (p *PlanReport) Storable() (note string, ok bool) {
	if p.Decision.Verdict == gate.Block {
		return NotStored, false
	}
	return "", true
}

// Blocked is nil unless the safety gate blocked the plan; then it is the error of what the
// gate stopped, e.g. "apply; nothing was changed", with the gate's reasons, one a line.
func (p *PlanReport) Blocked(what string) error {
	if p.Decision.Verdict != gate.Block {
		return nil
	}
	return fmt.Errorf("the safety gate blocked the %s %s:\n- %s", p.Profile.Name, what, strings.Join(p.Decision.Reasons, "\n- "))
}

// FailOnBlock is the error of plan --fail-on-block, nil unless the gate blocked: a
// pre-merge check fails with the reasons and the whole summary, as the job's log is all
// its reader sees.
func (p *PlanReport) FailOnBlock(reproduce Command) error {
	if err := p.Blocked("plan"); err != nil {
		return fmt.Errorf("%w\n\n%s", err, p.Summary(reproduce))
	}
	return nil
}

// Apply is what an apply did, for its report.
type Apply struct {
	Plan *PlanReport
	// Applied is false when the plan had no changes: nothing ran and nothing was backed up.
	Applied bool
	// Stored is the stored plan applied (apply --plan-ref), nil for a plan of this run;
	// StoredNote says why it could not be deleted from the bucket afterwards.
	Stored                   *planstore.Ref
	StoredSHA256, StoredNote string
	// Backup is the state backup's summary line (ci/state), "" when none was taken.
	Backup string
	// Refresh is the line of the refresh after the apply (state.RefreshLine), "" for none.
	Refresh string
	// Record says why the run record was not written, "" when it was.
	Record string
}

// Section is the apply section of a summary (ApplySection).
func (a Apply) Section() string {
	stored := ""
	if a.Stored != nil {
		stored = planstore.Applied(*a.Stored, a.StoredSHA256, a.StoredNote)
	}
	section := ApplySection(a.Applied, stored, a.Backup)
	if a.Applied {
		section += a.Refresh
	}
	return section
}

// Step is the pipeline's apply step: it passed (an apply that failed is an error, not a
// step), with the apply section.
func (a Apply) Step() StepReport {
	return StepReport{Outcome: Outcome{Step: StepApply, Verdict: gate.Pass}, Markdown: a.Section()}
}

// Files is the report directory of apply, name then contents: plan.txt, summary.md (the
// plan, then the apply section and the record note) and result.json. apply.log and the
// state backup are the module's to add.
func (a Apply) Files(reproduce Command) ([]string, error) {
	return a.Plan.Files(reproduce, a.Section(), a.Record)
}

// CheckSavedPlan refuses a plan directory (plan --include-plan) made for another
// environment than env, or without its saved plan: a saved plan carries its own backend
// settings, so applying a test plan with --env=prod would change test while the gate judged
// it as prod. result is the directory's result.json, nil when it has none.
func CheckSavedPlan(env environment.Name, result []byte, hasPlan bool) error {
	if result == nil {
		return fmt.Errorf("--plan: the plan directory has no %s: make it with `plan --env=%s --include-plan`", ResultFile, env)
	}
	res, err := ReadResult("--plan: "+ResultFile+" of the plan directory", result)
	if err != nil {
		return err
	}
	if res.Env != env {
		return fmt.Errorf("--plan holds a plan for %q, not %q: plan %s again and apply that", res.Env, env, env)
	}
	if !hasPlan {
		return fmt.Errorf("--plan: the plan directory has no tfplan (the saved plan): make it with `plan --env=%s --include-plan`", env)
	}
	return nil
}
