package pipeline

import (
	"fmt"
	"strings"

	"github.com/infrapipe/infrapipe/ci/cost"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
)

// FindingsOutcome judges a findings step (security scan, compliance) against the
// environment's severity threshold: any finding at or above it blocks.
func FindingsOutcome(s Step, fs []findings.Finding, threshold findings.Severity) (Outcome, findings.Result) {
	res := findings.Evaluate(fs, threshold)
	o := Outcome{Step: s, Verdict: gate.Pass}
	if !res.Passed() {
		o.Verdict = gate.Block
		o.Reasons = []string{fmt.Sprintf("%s: %d finding(s) at or above %s: %s", strings.ToLower(string(s)), len(res.Failing), res.Threshold, findings.Brief(res.Failing, briefFindings))}
	}
	return o, res
}

// briefFindings is how many findings or files a reason names before "and N more": enough
// to start on, short enough for a log line.
const briefFindings = 3

// firstOf is the first n of names, then how many more.
func firstOf(names []string, n int) string {
	out := strings.Join(names[:min(n, len(names))], ", ")
	if more := len(names) - n; more > 0 {
		out += fmt.Sprintf(" and %d more", more)
	}
	return out
}

// CostOutcome judges the cost step: blocking where ci/cost says the budget blocks (over
// budget, or no estimate where the profile requires one), a warning for any other result
// that is not within budget (no estimate), so nobody mistakes "not evaluated" for "cheap".
func CostOutcome(r cost.Result) Outcome {
	o := Outcome{Step: StepCost, Verdict: gate.Pass}
	switch {
	case r.Blocking():
		o.Verdict, o.Reasons = gate.Block, r.Reasons
	case r.Status != cost.WithinBudget:
		o.Verdict, o.Reasons = gate.Warn, r.Reasons
	}
	return o
}

// TestsOutcome judges the post-deploy tests from the checks that failed.
func TestsOutcome(failed []string) Outcome {
	if len(failed) == 0 {
		return Outcome{Step: StepTests, Verdict: gate.Pass}
	}
	return Outcome{Step: StepTests, Verdict: gate.Block, Reasons: failed}
}

// LintFailAt is the tflint severity that fails the lint function on its own: tflint's
// warnings and errors, as tflint itself exits; its notices are reported only. In a pipeline
// the environment's severity threshold decides instead, as for the scanners.
const LintFailAt = findings.Low

// LintOutcome judges the lint step: a file terraform fmt would rewrite and any terraform
// validate diagnostic (validate's output, empty when valid) block; tflint findings at failAt
// and up block, and those below it warn, each with a reason saying which.
func LintOutcome(unformatted []string, validate string, tflint []findings.Finding, failAt findings.Severity) Outcome {
	o := Outcome{Step: StepLint, Verdict: gate.Pass}
	if len(unformatted) > 0 {
		o.Reasons = append(o.Reasons, fmt.Sprintf("%d file(s) not formatted (%s): run terraform fmt -recursive", len(unformatted), firstOf(unformatted, briefFindings)))
	}
	if strings.TrimSpace(validate) != "" {
		o.Reasons = append(o.Reasons, "terraform validate failed")
	}
	if res := findings.Evaluate(tflint, failAt); !res.Passed() {
		o.Reasons = append(o.Reasons, fmt.Sprintf("tflint: %d finding(s) at or above %s: %s", len(res.Failing), failAt, findings.Brief(res.Failing, briefFindings)))
	}
	if len(o.Reasons) > 0 {
		o.Verdict = gate.Block
		return o
	}
	if below := findings.Evaluate(tflint, findings.Low); !below.Passed() {
		o.Verdict = gate.Warn
		o.Reasons = append(o.Reasons, fmt.Sprintf("tflint: %d finding(s) below %s", len(below.Failing), failAt))
	}
	return o
}
