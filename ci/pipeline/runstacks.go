package pipeline

import (
	"slices"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/stacks"
)

// StackRunner runs one stack's pipeline with f and returns its report directory to read,
// or why no report came back.
type StackRunner func(s stacks.Selected, f Flags) (environment.ReadFile, error)

// HeldForStorePlan is why a stack of a --store-plan run is held when none of the stacks it
// depends on blocked (or was held behind a block): they change something.
const HeldForStorePlan = "whose plan changes something: this stack's plan would be made before phase two applies that, so it was not stored; plan it again once they are applied"

// RunStacks runs the pipeline of every stack sel takes through run, at most f.MaxParallel
// at once, each after the selected stacks it depends on (stacks.Schedule). A stack whose
// dependency blocked, or was itself held, runs as a dry run: it is planned and checked, and
// nothing is applied on top of a blocked dependency, however deep, while independent stacks
// go on. With --store-plan, so does one whose dependency changes something (it is applied
// in phase two), and a held stack's plan is not stored; in phase two (--plans) too, and a
// held stack does not apply its stored plan. A stack that returned no readable
// report blocks with the error (StackFailed). The rows and the stacks' own files are in
// sel's order.
func RunStacks(sel stacks.Selection, f Flags, run StackRunner) ([]StackRun, []StackOwn, error) {
	runs := make([]StackRun, len(sel.Stacks))
	own := make([]StackOwn, len(sel.Stacks))
	index := make(map[string]int, len(sel.Stacks))
	for i, s := range sel.Stacks {
		index[s.Dir] = i
	}
	// blocked says whether the stack in dir blocked, or was held behind a block; Schedule
	// calls run only after the stacks a stack depends on are done, so their rows are there.
	blocked := func(dir string) bool {
		d := runs[index[dir]]
		return d.Verdict == gate.Block || (len(d.Held) > 0 && d.HeldNote == "")
	}
	err := stacks.Schedule(sel.Stacks, f.MaxParallel, func(i int, held []string) bool {
		s := sel.Stacks[i]
		r := StackRun{Stack: s.Dir, Why: s.Why, Held: held, Report: StackReport(s.Dir)}
		flags := f.ForStack(s.Dir, f.DryRun || len(held) > 0)
		if len(held) > 0 {
			// A held stack's plan is not one to apply: phase two would apply it on top of
			// what it depends on.
			flags.StorePlan = false
			if f.StorePlan && !slices.ContainsFunc(held, blocked) {
				r.HeldNote = HeldForStorePlan
			}
		}
		read, err := run(s, flags)
		if err == nil {
			r, own[i], err = ReadStackReport(r, read)
		}
		if err != nil {
			r, own[i] = StackFailed(r, err), StackOwn{}
		}
		runs[i] = r
		// With --store-plan, what changes is applied in phase two: a stack that depends on it
		// would be planned on what it is before, and is held. So it is in phase two: the
		// dependent's plan was made before this change (the plans of two first phases).
		return r.Verdict == gate.Block || ((f.StorePlan || f.StackPlans != nil) && r.Changes)
	})
	return runs, own, err
}
