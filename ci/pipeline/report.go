package pipeline

import (
	"fmt"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/markdown"
	"github.com/infrapipe/infrapipe/ci/report"
	"github.com/infrapipe/infrapipe/ci/runs"
	"github.com/infrapipe/infrapipe/ci/tfunit"
)

// RunResult is a pipeline run's result.json: the verdict part `verdict` reads, and the
// detail other tools read.
type RunResult struct {
	Result
	DryRun  bool              `json:"dry_run"`
	Steps   []StepResult      `json:"steps"`
	Outputs map[string]string `json:"outputs"`
	// Plan is the plan's own result (ci/report), when the run got that far.
	Plan *report.Result `json:"plan,omitempty"`
	// Record says where the run's record went (ci/runs), or why it was not written: never
	// a reason to fail the run.
	Record *runs.Written `json:"record,omitempty"`
}

// StepResult is one step in result.json.
type StepResult struct {
	Name    Step         `json:"name"`
	Verdict gate.Verdict `json:"verdict"`
	Reasons []string     `json:"reasons,omitempty"`
	// Warnings are the step's reasons that only warn, in a step that blocks (Outcome).
	Warnings []string `json:"warnings,omitempty"`
	Findings int      `json:"findings"`
}

// Run is what a summary's header says about the run besides its steps.
type Run struct {
	Env    environment.Name
	Why    string // why this environment, e.g. "event push on refs/heads/main"
	DryRun bool
	Stack  string // the Terraform directory, for notifications
	// NoChanges is a plan that changes nothing: nothing was applied or backed up, and the
	// post-deploy tests ran only when asked (TestsRan).
	NoChanges, TestsRan bool
}

// Header is the top of a pipeline summary: the verdict, why this environment, whether it
// was a dry run or had nothing to change, a table of the steps, and the reasons of every
// step that did not pass. Reasons come from tools and configuration, so they are escaped.
func Header(run Run, outs []Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s pipeline: %s\n\n", run.Env, Verdict(outs))
	if run.Why != "" {
		fmt.Fprintf(&b, "Environment chosen by %s.\n\n", markdown.Text(run.Why))
	}
	switch {
	case run.DryRun:
		b.WriteString("Dry run: nothing was imported or applied.\n\n")
	case run.NoChanges && run.TestsRan:
		b.WriteString("No changes: nothing was applied or backed up; the post-deploy tests ran as asked.\n\n")
	case run.NoChanges:
		b.WriteString("No changes: nothing was applied or backed up, and the post-deploy tests did not run (--test-unchanged runs them).\n\n")
	}
	b.WriteString("| step | verdict |\n|---|---|\n")
	for _, o := range outs {
		fmt.Fprintf(&b, "| %s | %s |\n", o.Step, o.Verdict)
	}
	b.WriteString("\n")
	for _, o := range outs {
		if o.Verdict == gate.Pass {
			continue
		}
		for _, reason := range o.Reasons {
			fmt.Fprintf(&b, "- **%s** %s: %s\n", o.Verdict, o.Step, markdown.Text(headline(reason, "the step's section below")))
		}
		for _, reason := range o.Warnings {
			fmt.Fprintf(&b, "- **%s** %s: %s\n", gate.Warn, o.Step, markdown.Text(headline(reason, "the step's section below")))
		}
	}
	return b.String()
}

// headline is a reason as one line of a summary's header or a notification: a failed
// command's reason holds the end of its output, thousands of characters on one line once
// Markdown joins them. It keeps the first line and the first error the output names, and
// says where the rest is.
func headline(reason, rest string) string {
	lines := strings.Split(strings.TrimSpace(reason), "\n")
	if len(lines) == 1 {
		return reason
	}
	head := strings.TrimSuffix(strings.TrimSpace(lines[0]), ":")
	for _, l := range lines[1:] {
		l = strings.TrimSpace(strings.TrimLeft(l, "│╷╵ "))
		if strings.HasPrefix(l, "Error: ") {
			head += ": " + l
			break
		}
	}
	const max = 300
	if r := []rune(head); len(r) > max {
		head = string(r[:max]) + "…"
	}
	return head + " (" + rest + " has the rest)"
}

// BrokenSection is the summary section of a step that could not run: the end of its error.
func BrokenSection(s Step, err error) string {
	return fmt.Sprintf("## %s\n\nCould not run:\n\n%s", s, CodeBlock("", report.Tail(err.Error(), 40)))
}

// FailedSection is the summary section of a step that ran and failed.
func FailedSection(s Step, err error) string {
	return fmt.Sprintf("## %s\n\nFailed:\n\n%s", s, CodeBlock("", report.Tail(err.Error(), 60)))
}

// Head keeps the first n lines of s as they are, blank ones too: a diff whose blank
// context lines were dropped would not apply, and its first files' headers come first.
func Head(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("[... %d more lines cut]", len(lines)-n))
	}
	return strings.Join(lines, "\n")
}

// Lint is what the three linters found, for the lint section.
type Lint struct {
	Unformatted []string // files terraform fmt would change
	FmtDiff     string   // and how: terraform fmt -diff
	FmtFailed   string   // fmt's output when it could not parse the code (ReadFmt)
	Validate    string   // terraform validate's diagnostics; empty when valid
	// Tests is terraform test on the stack's own .tftest.hcl files, nil when it has none.
	Tests   *tfunit.Result
	Tflint  []findings.Finding
	Notices []string // suppressions to review: expired, or matching no finding
	// TflintFailed says why tflint could not run (a plugin it could not install), nil when
	// it ran: fmt and validate still count, and tflint is judged as a tool that could not run.
	TflintFailed *ToolFailure
}

// Markdown is the lint section of a summary: fmt, validate and tflint in turn, tflint's
// findings judged at failAt, the threshold the step's verdict uses.
func (l Lint) Markdown(failAt findings.Severity) string {
	var b strings.Builder
	b.WriteString("## Lint\n\n")
	switch {
	case l.FmtFailed != "":
		b.WriteString("- terraform fmt: failed, the code does not parse:\n\n" + CodeBlock("", l.FmtFailed))
	case len(l.Unformatted) == 0:
		b.WriteString("- terraform fmt: ok\n")
	default:
		fmt.Fprintf(&b, "- terraform fmt: %d file(s) not formatted; run `terraform fmt -recursive`:\n", len(l.Unformatted))
		for _, f := range l.Unformatted {
			fmt.Fprintf(&b, "  - %s\n", markdown.Text(f))
		}
		if l.FmtDiff != "" {
			b.WriteString("\n" + CodeBlock("diff", Head(l.FmtDiff, 80)))
		}
	}
	if l.Validate == "" {
		b.WriteString("- terraform validate: ok\n")
	} else {
		b.WriteString("- terraform validate: failed\n\n" + CodeBlock("", l.Validate))
	}
	if l.Tests != nil {
		b.WriteString(testsMarkdown(*l.Tests))
	}
	if l.TflintFailed != nil {
		fmt.Fprintf(&b, "- tflint: could not run:\n\n%s", CodeBlock("", report.Tail(l.TflintFailed.Err.Error(), 20)))
		return b.String()
	}
	fmt.Fprintf(&b, "- tflint: %d finding(s)\n\n", len(l.Tflint))
	if len(l.Tflint) > 0 || len(l.Notices) > 0 {
		b.WriteString(findings.Markdown(l.Tflint, findings.Evaluate(l.Tflint, failAt), l.Notices, 50))
	}
	return b.String()
}

// testsMarkdown is terraform test's line of the lint section: the counts, then each run
// block that did not pass with Terraform's diagnostics, and what stopped the tests early.
func testsMarkdown(r tfunit.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- terraform test: %d passed, %d failed, %d errored, %d skipped\n", r.Passed, r.Failed, r.Errored, r.Skipped)
	for _, run := range r.Runs {
		if run.Status == "pass" || run.Status == "skip" {
			continue
		}
		fmt.Fprintf(&b, "  - %s run %s: %s\n", markdown.CodeSpan(run.File), markdown.CodeSpan(run.Name), markdown.Text(run.Status))
		for _, d := range run.Diagnostics {
			fmt.Fprintf(&b, "    - %s\n", markdown.Text(d))
		}
	}
	if len(r.Errors) > 0 {
		b.WriteString("\n" + CodeBlock("", Head(strings.Join(r.Errors, "\n"), 40)))
	}
	return b.String()
}

// FindingsSection is the body of a findings step's section (security scan, compliance):
// the tools that could not run first, then the findings against the threshold's verdict.
func FindingsSection(tools Outcome, fs []findings.Finding, verdict findings.Result, notices []string) string {
	var b strings.Builder
	for _, reason := range tools.Reasons {
		fmt.Fprintf(&b, "- **%s** %s\n", tools.Verdict, markdown.Text(reason))
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	return b.String() + findings.Markdown(fs, verdict, notices, 50)
}

// StepHeading heads a step's section, naming the tools that ran when there are any.
func StepHeading(s Step, tools []string) string {
	if len(tools) == 0 {
		return "## " + string(s) + "\n\n"
	}
	return "## " + string(s) + " (" + markdown.Text(strings.Join(tools, ", ")) + ")\n\n"
}

// NothingToDeploy is the summary of a run whose event has nothing to deploy (a push that
// deleted a branch), which passes.
func NothingToDeploy(why error) string {
	return "# Nothing to deploy\n\n" + markdown.Text(why.Error()) + "\n"
}

// DriftFailed is the drift report of a check that could not run.
func DriftFailed(env environment.Name, err error) string {
	return fmt.Sprintf("## Drift: %s\n\nThe check could not run:\n\n%s", env, CodeBlock("", report.Tail(err.Error(), 60)))
}

// ApplySection is the apply section of a summary: what was applied, then the state backup
// line (ci/state's). A plan without changes applies nothing and takes no backup.
func ApplySection(applied bool, stored, backup string) string {
	if !applied {
		return "## Apply\n\n- Nothing to apply: the plan has no changes, so no state backup was taken either.\n"
	}
	line := "- Applied the saved plan of this run.\n"
	if stored != "" {
		line = stored
	}
	return "## Apply\n\n" + line + backup
}

// TestCase is one post-deploy check as the tests section shows it.
type TestCase struct {
	Name   string
	Result string // "pass", "FAIL: <why>", "skipped: <why>"
}

// TestsSection is the post-deploy tests section: one row per check.
func TestsSection(cases []TestCase) string {
	var b strings.Builder
	b.WriteString("## Post-deploy tests\n\n| check | result |\n|---|---|\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "| %s | %s |\n", markdown.Text(c.Name), markdown.Text(c.Result))
	}
	return b.String()
}
