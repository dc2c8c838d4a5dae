package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/plan"
)

// Recorder collects a run's steps as they finish, from whichever goroutine runs them: the
// report and the run record are made of what it holds, and whether anything blocks so far
// decides whether apply may start.
type Recorder struct {
	profile environment.Profile // how much a step that could not run counts
	started time.Time

	mu    sync.Mutex
	began map[Step]time.Time
	steps []StepReport
}

// NewRecorder records a run of profile's environment that started at started.
func NewRecorder(p environment.Profile, started time.Time) *Recorder {
	return &Recorder{profile: p, started: started, began: map[Step]time.Time{}}
}

// Begin notes when a step starts, for the run record; Add notes when it ends. Calling it
// again moves the start, e.g. the plan's start once its imports are mapped.
func (r *Recorder) Begin(s Step) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.began[s] = time.Now()
}

// Add records a finished step. A step that never began started with the run.
func (r *Recorder) Add(s StepReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Started, s.Ended = r.began[s.Step], time.Now()
	if s.Started.IsZero() {
		s.Started = r.started
	}
	r.steps = append(r.steps, s)
}

// Replace records s in place of its step's record, which keeps its time: a step whose
// report a later step changes (the import step, once the apply that imports succeeded).
// Nothing is recorded when the step has no record.
func (r *Recorder) Replace(s StepReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, old := range r.steps {
		if old.Step == s.Step {
			s.Started, s.Ended = old.Started, old.Ended
			r.steps[i] = s
			return
		}
	}
}

// Broken records a step that could not run; Broken (the outcome) says how much it counts
// in this environment.
func (r *Recorder) Broken(s Step, err error) {
	r.Add(StepReport{Outcome: Broken(r.profile, s, err), Markdown: BrokenSection(s, err)})
}

// Failed records a step that ran and failed: it blocks in every environment.
func (r *Recorder) Failed(s Step, err error) {
	r.Add(StepReport{Outcome: Outcome{Step: s, Verdict: gate.Block, Reasons: []string{err.Error()}},
		Markdown: FailedSection(s, err)})
}

// Outcomes are the steps so far, in the order they finished.
func (r *Recorder) Outcomes() []Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Outcome, len(r.steps))
	for i, s := range r.steps {
		out[i] = s.Outcome
	}
	return out
}

// Blocked reports whether a step so far blocks: then nothing is applied.
func (r *Recorder) Blocked() bool { return Verdict(r.Outcomes()) == gate.Block }

// Steps are the steps so far, a copy the caller may sort.
func (r *Recorder) Steps() []StepReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.steps)
}

// Planned is what the order of the steps needs of a judged plan.
type Planned struct {
	Analysis *plan.Analysis // whether it changes anything: tests run only then
	Decision gate.Decision  // the safety gate's verdict, the plan step's outcome
}

// Steps are one run's step functions, which the module provides: each runs its tools and
// returns what ci/ judged of their output. An error from a check means the step could not
// run (Broken); from the plan, the store or the apply, that it failed (it blocks).
type Steps struct {
	Lint, SecurityScan func(context.Context) (StepReport, error)
	// Plan plans with the import blocks when the import step runs, and judges the plan. It
	// begins the plan step and begins and records the import step itself: the import
	// finishes with the plan that imports.
	Plan             func(context.Context) (Planned, error)
	Compliance, Cost func(context.Context) (StepReport, error)
	// Store, when set, keeps the judged plan for a later apply (the first of two phases),
	// once every check has finished and none blocked.
	Store        func(context.Context) error
	Apply, Tests func(context.Context) (StepReport, error)
}

// Execute runs p's steps in dependency order, independent ones in parallel, and records
// each into rec: failures are recorded, not returned, so the report covers every step.
//
// The static checks (lint, security scan) need no state and run beside the plan;
// compliance and cost run on the plan, in parallel. Nothing is stored or applied before
// every check has finished and none blocked. The post-deploy tests run after an apply that
// changed something, or always with testUnchanged.
func Execute(ctx context.Context, p Plan, testUnchanged bool, s Steps, rec *Recorder) {
	var static sync.WaitGroup
	for _, c := range []struct {
		step Step
		run  func(context.Context) (StepReport, error)
	}{{StepLint, s.Lint}, {StepSecurityScan, s.SecurityScan}} {
		if p.Runs(c.step) {
			static.Add(1)
			go func() {
				defer static.Done()
				rec.check(ctx, c.step, c.run)
			}()
		}
	}
	defer static.Wait() // a failed plan still reports the static checks

	planned, err := s.Plan(ctx)
	if err != nil {
		rec.Failed(StepPlan, err)
		return
	}
	rec.Add(StepReport{Outcome: planOutcome(planned.Decision)})

	var onPlan sync.WaitGroup
	for _, c := range []struct {
		step Step
		run  func(context.Context) (StepReport, error)
	}{{StepCompliance, s.Compliance}, {StepCost, s.Cost}} {
		if p.Runs(c.step) {
			onPlan.Add(1)
			go func() {
				defer onPlan.Done()
				rec.check(ctx, c.step, c.run)
			}()
		}
	}
	onPlan.Wait()
	static.Wait()

	if s.Store != nil && !rec.Blocked() {
		if err := s.Store(ctx); err != nil {
			rec.Failed(StepPlan, fmt.Errorf("store the plan for a later apply: %w", err))
			return
		}
	}
	if !p.Runs(StepApply) || rec.Blocked() {
		return
	}
	rec.Begin(StepApply)
	applied, err := s.Apply(ctx)
	if err != nil {
		rec.Failed(StepApply, err)
		return
	}
	rec.Add(applied)

	changes := planned.Analysis != nil && planned.Analysis.Counts.HasChanges()
	if !p.Runs(StepTests) || (!changes && !testUnchanged) {
		return
	}
	rec.check(ctx, StepTests, s.Tests)
}

// check runs a step whose error means it could not run, unless the error is in the
// repository's own files (inputError): then the step failed.
func (r *Recorder) check(ctx context.Context, s Step, run func(context.Context) (StepReport, error)) {
	r.Begin(s)
	res, err := run(ctx)
	var input inputError
	switch {
	case errors.As(err, &input) && input.InputError():
		r.Failed(s, err)
	case err != nil:
		r.Broken(s, err)
	default:
		r.Add(res)
	}
}

// inputError is an error in the repository's own files that a step finds only when its
// tool reads them (policy.Errors: Rego that does not compile). Fixing the repository is
// what helps, so it blocks in every environment, as a broken pipeline.yaml does, rather
// than warn as a tool that could not run: the checks it stands for were not made.
type inputError interface{ InputError() bool }

// planOutcome is the plan step's outcome: a blocked plan's warnings (a forget beside a
// blocked import, say) are reported as warnings, not under its block.
func planOutcome(d gate.Decision) Outcome {
	o := Outcome{Step: StepPlan, Verdict: d.Verdict, Reasons: d.Reasons}
	if d.Verdict == gate.Block {
		o.Reasons, o.Warnings = d.Split()
	}
	return o
}
