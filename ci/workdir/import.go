package workdir

import (
	"context"
	"fmt"
	"time"

	"github.com/infrapipe/infrapipe/ci/commands"
	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/importer"
	"github.com/infrapipe/infrapipe/ci/pipeline"
)

// Mapping is discovery's result mapped onto the configuration (ci/importer), resolved by
// the plan that imports.
type Mapping struct {
	Plan  *importer.Plan
	Stats discovery.Stats
}

// Map plans the configuration without import blocks (its creates are the candidates, its
// prior state what is already managed), then discovers the tagged resources and maps them
// with importer.Prepare, writing no file. req is the discovery, as the caller's process
// reaches AWS.
func Map[D Dir[D]](ctx context.Context, d D, e Env, req importer.Request) (*Mapping, error) {
	planned, err := d.Run(ctx, "terraform plan", commands.Plan(d.Out(), e.PlanArgs...))
	if err != nil {
		return nil, err
	}
	js, err := read(ctx, planned, "plan", "plan.json")
	if err != nil {
		return nil, err
	}
	req.PlanJSON = []byte(js)
	res, err := importer.Prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	return &Mapping{Plan: res.Plan, Stats: res.Stats}, nil
}

// WithBlocks is d with the import blocks of what m imports (importer.FileName).
func WithBlocks[D Dir[D]](d D, m *Mapping) D {
	return d.WithFile(importer.FileName, string(m.Plan.ImportBlocks()))
}

// Resolve reads, from the plan made with the import blocks, which imports Terraform will do.
func (m *Mapping) Resolve(planJSON string) error {
	tfplan, err := importer.ReadPlan([]byte(planJSON))
	if err != nil {
		return err
	}
	outcome, err := importer.ReadOutcome(tfplan, nil)
	if err != nil {
		return err
	}
	m.Plan = m.Plan.Resolve(outcome)
	return nil
}

// ResolveFailure marks every import failed with the error a failed plan printed: a plan
// that fails imports nothing.
func (m *Mapping) ResolveFailure(err error) error {
	outcome, readErr := importer.ReadOutcome(nil, []byte(err.Error()))
	if readErr != nil {
		return readErr
	}
	m.Plan = m.Plan.Resolve(outcome)
	return nil
}

// Report is the mapping's import report.
func (m *Mapping) Report(env string, dryRun bool) importer.Report {
	return importer.NewReport(env, dryRun, m.Plan, m.Stats)
}

// PlanFailed is the plan with the import blocks failing (an object vanished after
// discovery, an ID the provider rejects): nothing is imported, and every row of the report
// that err carries says so, with Terraform's error read from the plan's output in err.
func (m *Mapping) PlanFailed(env string, dryRun bool, err error) error {
	if readErr := m.ResolveFailure(err); readErr != nil {
		return fmt.Errorf("import into %s: %w (its output could not be read: %v)", env, err, readErr)
	}
	return m.Report(env, dryRun).Error(err)
}

// Failed is the run's error when an import failed (importer.Plan.Err), with the report.
func (m *Mapping) Failed(env string, dryRun bool) error {
	if err := m.Plan.Err(); err != nil {
		return m.Report(env, dryRun).Error(err)
	}
	return nil
}

// Step is the pipeline's import step once the plan says what it imports, and the import
// report's files for the pipeline's report.
func (m *Mapping) Step(env string, dryRun bool) (pipeline.StepReport, []string) {
	report := m.Report(env, dryRun)
	s := pipeline.StepReport{Outcome: pipeline.Outcome{Step: pipeline.StepImport, Verdict: gate.Pass}, Markdown: report.Markdown()}
	if err := m.Plan.Err(); err != nil {
		s.Verdict, s.Reasons = gate.Block, []string{err.Error()}
	}
	files, err := report.Files("")
	if err != nil {
		s.Verdict, s.Reasons = gate.Block, []string{err.Error()}
	}
	return s, files
}

// Imported is what Import did: the directory after the plan with the import blocks (which
// holds generated.tf in the Terraform directory when Plan.GenerateConfigOut), that plan's
// text, and the summary lines of the state backups taken and of the refresh after the
// apply.
type Imported[D any] struct {
	Dir     D
	Planned bool // false when there was nothing to import
	Text    string
	Backups string
	Refresh string
}

// StateLines are the report's lines on what happened to the state: backups, then the
// refresh.
func (i Imported[D]) StateLines() string { return i.Backups + i.Refresh }

// Import imports what m maps. With --force (Plan.StateRemovals) and not dryRun, the state is
// backed up and those addresses removed from it first. The import blocks are then planned,
// targeted at the imported addresses, and m resolved from that plan. Unless dryRun, the
// plan goes through the safety gate and is applied, with the profile's backup. A failed
// import fails the run with its report (Mapping.Failed). restoreLine is the restore-state
// line for a backup key: once --force changed the state, every failure gives it.
func Import[D Dir[D]](ctx context.Context, d D, e Env, m *Mapping, dryRun bool, restoreLine func(key string) string, now time.Time) (_ Imported[D], failure error) {
	if len(m.Plan.Imports()) == 0 {
		return Imported[D]{Dir: d}, m.Failed(string(e.Name), dryRun)
	}
	var backups string
	if !dryRun && len(m.Plan.StateRemovals) > 0 {
		// state rm is written to the backend at once, before the plan: keep the state it
		// changes, whatever the profile, so a failed plan can be undone with restore-state.
		b, err := TakeBackup(ctx, d, e, now)
		if err != nil {
			return Imported[D]{}, m.Plan.BackupError(e.Name, err)
		}
		backups = b.SummaryLine()
		// From here on the state has lost addresses until the import is applied: every
		// failure says how to put them back.
		defer func() {
			if failure != nil {
				failure = importer.StateChangedError(failure, e.Name, m.Plan.StateRemovals, restoreLine(b.Key))
			}
		}()
		for _, addr := range m.Plan.StateRemovals {
			if d, err = d.Run(ctx, "terraform state rm "+addr, []string{"terraform", "state", "rm", "-no-color", addr}); err != nil {
				return Imported[D]{}, err
			}
		}
	}
	p, err := Plan(ctx, WithBlocks(d, m), e, false, m.Plan.TargetArgs()...)
	if err != nil {
		return Imported[D]{}, m.PlanFailed(string(e.Name), dryRun, err)
	}
	if err := m.Resolve(p.JSON); err != nil {
		return Imported[D]{}, err
	}
	if err := m.Failed(string(e.Name), dryRun); err != nil {
		return Imported[D]{}, err
	}
	// A dry run says what the gate would make of it too: "would import" is no answer for an
	// import the same plan then replaces.
	if err := p.Report.Blocked("import; nothing was imported"); err != nil {
		return Imported[D]{}, err
	}
	res := Imported[D]{Dir: p.Dir, Planned: true, Text: p.Report.Text, Backups: backups}
	if dryRun {
		return res, nil
	}
	applied, err := Apply(ctx, e, p, now)
	if err != nil {
		return Imported[D]{}, err
	}
	m.Plan = m.Plan.Applied()
	res.Backups += applied.Backup.SummaryLine()
	res.Refresh = applied.RefreshLine()
	return res, nil
}

// PlanImports is the pipeline's plan: one plan that imports what m maps (nil: nothing)
// beside the other changes. m is resolved from that plan or, when the plan fails, from its
// error, so the report still says which imports failed and why; resolved says whether m
// could be.
func PlanImports[D Dir[D]](ctx context.Context, d D, e Env, m *Mapping, forceRecreate bool) (_ Judged[D], resolved bool, _ error) {
	if m == nil {
		p, err := Plan(ctx, d, e, forceRecreate)
		return p, false, err
	}
	p, err := Plan(ctx, WithBlocks(d, m), e, forceRecreate)
	if err != nil {
		return p, m.ResolveFailure(err) == nil, err
	}
	if err := m.Resolve(p.JSON); err != nil {
		return p, false, err
	}
	return p, true, nil
}

// Imports is the pipeline's import step as PlanWithImports runs it.
type Imports struct {
	Run bool // the environment's profile imports and the call named a project
	// Request is the discovery, as the caller's process reaches AWS; an error means the
	// step could not run.
	Request func(context.Context) (importer.Request, error)
	Env     string // for the import report
	DryRun  bool
}

// PlanWithImports is the pipeline's plan step with its import step: it initializes
// (planning), maps the existing resources (Map) and makes one plan that imports them beside
// the other changes (PlanImports), recording the import step in rec as it goes. An import
// step whose discovery cannot run is recorded as broken and the plan goes on without
// imports; when planning fails, the import step is recorded as broken and the error is the
// plan's. One with nothing to import is recorded before the plan; else it is recorded once
// the plan says what it imports, its time running on through that plan. Without an import
// step, the plan's time starts before planning. files are the import report's, for the
// run's report.
func PlanWithImports[D Dir[D]](ctx context.Context, rec *pipeline.Recorder, planning func(context.Context) (D, Env, error), im Imports, forceRecreate bool) (_ Judged[D], files []string, _ error) {
	if im.Run {
		rec.Begin(pipeline.StepImport)
	} else {
		rec.Begin(pipeline.StepPlan)
	}
	d, e, err := planning(ctx)
	if err != nil {
		if im.Run {
			rec.Broken(pipeline.StepImport, err)
		}
		return Judged[D]{}, nil, err
	}
	var mapped *Mapping
	if im.Run {
		m, err := mapWith(ctx, d, e, im.Request)
		switch {
		case err != nil:
			rec.Broken(pipeline.StepImport, err)
		case len(m.Plan.Imports()) == 0:
			var s pipeline.StepReport
			s, files = m.Step(im.Env, im.DryRun)
			rec.Add(s)
		default:
			mapped = m
		}
	}
	if im.Run {
		rec.Begin(pipeline.StepPlan)
	}
	p, resolved, err := PlanImports(ctx, d, e, mapped, forceRecreate)
	if resolved {
		var s pipeline.StepReport
		s, files = mapped.Step(im.Env, im.DryRun)
		rec.Add(s)
		if err == nil && mapped.Plan.Err() == nil {
			p.Imports = mapped
		}
	}
	return p, files, err
}

// ImportsApplied records the pipeline's import step again once the plan that imports (p,
// from PlanWithImports) was applied: its report, made with the plan, said "to import".
// files replace the import report's files PlanWithImports gave; ok is false when the plan
// imports nothing.
func ImportsApplied[D any](rec *pipeline.Recorder, p Judged[D], env string) (files []string, ok bool) {
	if p.Imports == nil || len(p.Imports.Plan.Imports()) == 0 {
		return nil, false
	}
	m := *p.Imports // the caller's mapping still says what the plan imports
	m.Plan = m.Plan.Applied()
	s, files := m.Step(env, false)
	rec.Replace(s)
	return files, true
}

// mapWith is Map with the request made first.
func mapWith[D Dir[D]](ctx context.Context, d D, e Env, request func(context.Context) (importer.Request, error)) (*Mapping, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	return Map(ctx, d, e, req)
}
