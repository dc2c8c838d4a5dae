package pipeline

import (
	"fmt"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/markdown"
	"github.com/infrapipe/infrapipe/ci/report"
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
}

// StepResult is one step in result.json.
type StepResult struct {
	Name     Step         `json:"name"`
	Verdict  gate.Verdict `json:"verdict"`
	Reasons  []string     `json:"reasons,omitempty"`
	Findings int          `json:"findings"`
}

// Header is the top of a pipeline summary: the verdict, why this environment, whether it
// was a dry run, a table of the steps, and the reasons of every step that did not pass.
// Reasons come from tools and configuration, so they are escaped as prose.
func Header(env environment.Name, why string, dryRun bool, outs []Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s pipeline: %s\n\n", env, Verdict(outs))
	if why != "" {
		fmt.Fprintf(&b, "Environment chosen by %s.\n\n", markdown.Text(why))
	}
	if dryRun {
		b.WriteString("Dry run: nothing was imported or applied.\n\n")
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
			fmt.Fprintf(&b, "- **%s** %s: %s\n", o.Verdict, o.Step, markdown.Text(reason))
		}
	}
	return b.String()
}

// BrokenSection is the summary section of a step that could not run: the end of its error.
func BrokenSection(s Step, err error) string {
	return fmt.Sprintf("## %s\n\nCould not run:\n\n%s", s, CodeBlock("", lastLines(err.Error(), 40)))
}

// FailedSection is the summary section of a step that ran and failed.
func FailedSection(s Step, err error) string {
	return fmt.Sprintf("## %s\n\nFailed:\n\n%s", s, CodeBlock("", lastLines(err.Error(), 60)))
}

// lastLines keeps the last n non-empty lines, where tools put their error.
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines cut]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
