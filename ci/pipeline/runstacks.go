package pipeline

import (
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/stacks"
)

// StackRunner runs one stack's pipeline with f and returns its report directory to read,
// or why no report came back.
type StackRunner func(s stacks.Selected, f Flags) (environment.ReadFile, error)

// RunStacks runs the pipeline of every stack sel takes through run, at most f.MaxParallel
// at once, each after the selected stacks it depends on (stacks.Schedule). A stack whose
// dependency blocked, or was itself held, runs as a dry run: it is planned and checked, and
// nothing is applied on top of a blocked dependency, however deep, while independent stacks
// go on. A stack that returned no readable report blocks with the error (StackFailed). The
// rows and the stacks' own files are in sel's order.
func RunStacks(sel stacks.Selection, f Flags, run StackRunner) ([]StackRun, []StackOwn, error) {
	runs := make([]StackRun, len(sel.Stacks))
	own := make([]StackOwn, len(sel.Stacks))
	err := stacks.Schedule(sel.Stacks, f.MaxParallel, func(i int, held []string) bool {
		s := sel.Stacks[i]
		r := StackRun{Stack: s.Dir, Why: s.Why, Held: held, Report: StackReport(s.Dir)}
		read, err := run(s, f.ForStack(f.DryRun || len(held) > 0))
		if err == nil {
			r, own[i], err = ReadStackReport(r, read)
		}
		if err != nil {
			r, own[i] = StackFailed(r, err), StackOwn{}
		}
		runs[i] = r
		return r.Verdict == gate.Block
	})
	return runs, own, err
}
