package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/report"
)

// Outcome is how one step ended.
type Outcome struct {
	Step    Step
	Verdict gate.Verdict
	Reasons []string
	// Warnings are reasons that only warn, in a step whose verdict is worse (Merge): a tool
	// that could not run beside another tool's blocking finding. They are reported as
	// warnings, not under the step's verdict.
	Warnings []string
	// CouldNotRun marks a step that did not run at all (Broken): whatever its verdict, it
	// checked nothing.
	CouldNotRun bool
}

// Broken is the outcome of a step that could not run (a tool crashed, the emulator did not
// answer). It warns, except where the profile makes failures block (prod): there an
// unchecked change must not reach apply.
func Broken(p environment.Profile, s Step, err error) Outcome {
	v := gate.Warn
	if p.FailuresBlock {
		v = gate.Block
	}
	return Outcome{Step: s, Verdict: v, Reasons: []string{fmt.Sprintf("%s could not run: %v", s, err)}, CouldNotRun: true}
}

// Verdict combines the steps' verdicts: the most serious wins, and no step is pass.
func Verdict(outs []Outcome) gate.Verdict {
	v := gate.Pass
	for _, o := range outs {
		v = gate.Worse(v, o.Verdict)
	}
	return v
}

// Reasons lists the reasons of the steps whose verdict is at least as serious as min, each
// prefixed with its step: Reasons(outs, gate.Block) is why a run blocked, Reasons(outs,
// gate.Pass) everything any step said.
func Reasons(outs []Outcome, min gate.Verdict) []string {
	out := []string{}
	for _, o := range outs {
		if gate.Worse(o.Verdict, min) != o.Verdict {
			continue
		}
		for _, r := range o.Reasons {
			out = append(out, fmt.Sprintf("%s: %s", o.Step, r))
		}
	}
	if gate.Worse(gate.Warn, min) == gate.Warn {
		for _, o := range outs {
			for _, r := range o.Warnings {
				out = append(out, fmt.Sprintf("%s: %s", o.Step, r))
			}
		}
	}
	return out
}

// Compare orders steps as the report lists them (Order), for slices.SortStableFunc: steps
// finish in any order when they run in parallel. Unknown steps go last.
func Compare(a, b Step) int {
	rank := func(s Step) int {
		if i := slices.Index(Order, s); i >= 0 {
			return i
		}
		return len(Order)
	}
	return rank(a) - rank(b)
}

// JUnitCase is a step as a JUnit test case of env, timed from its start to its end: a
// blocking step fails with its reasons (its section of the summary goes with them), and a
// step that could not run is skipped with why, even where it only warns: a report reader
// must never see it as passed. A step that ran and warned passes with its warnings as
// output, which reporters show beside it.
func JUnitCase(env environment.Name, s StepReport) report.Case {
	o := s.Outcome
	c := report.Case{Name: string(o.Step), Classname: string(env), Time: s.Took()}
	warnings := o.Warnings
	switch {
	case o.Verdict == gate.Block:
		c.Failure = strings.Join(o.Reasons, "; ")
		c.Output = s.Markdown
	case o.CouldNotRun:
		c.Skipped = strings.Join(o.Reasons, "; ")
	case o.Verdict == gate.Warn:
		warnings = append(slices.Clone(o.Reasons), warnings...)
	}
	if len(warnings) > 0 {
		c.Output = strings.TrimPrefix(c.Output+"\n\nwarn: "+strings.Join(warnings, "\nwarn: "), "\n\n")
	}
	return c
}
