package pipeline

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/report"
)

// ReadFmt reads what commands.FmtCheck left: the files terraform fmt would rewrite (its
// stdout, one per line, made repository paths by joining dir, the Terraform directory) and
// the diff that fixes them (its stderr). Exit code 0 is formatted code. A non-zero exit
// that names no file is fmt failing: on code it cannot parse (its Error: diagnostics),
// failed is the end of its output, which names the file and line, and blocks the lint step
// as code that does not parse would (Lint.FmtFailed), beside validate's and tflint's
// results; otherwise (no terraform, killed) fmt could not run, an error.
// fmt -recursive walks into the stacks nested below dir (stacks.Nested, repository paths):
// their files are left out of all three, for their own runs to report, and when only they
// are unformatted or unparsable this stack's code is formatted.
func ReadFmt(dir string, nested []string, code int, stdout, stderr string) (unformatted []string, diff, failed string, err error) {
	if code == 0 {
		return nil, "", "", nil
	}
	named := false
	for _, l := range strings.Split(stdout, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			named = true
			if f := path.Join(dir, l); !inNested(f, nested) {
				unformatted = append(unformatted, f)
			}
		}
	}
	if !named {
		files, ok := diagnosticFiles(stderr)
		if !ok {
			return nil, "", "", fmt.Errorf("terraform fmt failed (exit code %d):\n%s", code, report.Tail(stderr, 30))
		}
		for _, f := range files {
			if !inNested(path.Join(dir, f), nested) {
				return nil, "", fmt.Sprintf("exit code %d:\n%s", code, report.Tail(stderr, 30)), nil
			}
		}
		return nil, "", "", nil // only nested stacks' files, theirs to report
	}
	if len(unformatted) == 0 {
		return nil, "", "", nil
	}
	if len(nested) == 0 {
		return unformatted, stderr, "", nil
	}
	return unformatted, fmtDiffWithout(stderr, func(name string) bool { return inNested(path.Join(dir, name), nested) }), "", nil
}

// onFile matches the line of a Terraform diagnostic that names its file: "on main.tf line 1".
var onFile = regexp.MustCompile(`(?m)^[│╷╵ ]*on (\S+) line \d+`)

// diagnosticFiles are the files Terraform's Error: diagnostics in output name; ok is false
// when output holds no Error: diagnostic. A diagnostic that names no file names "." (the
// Terraform directory).
func diagnosticFiles(output string) (files []string, ok bool) {
	if !strings.Contains(output, "Error: ") {
		return nil, false
	}
	for _, m := range onFile.FindAllStringSubmatch(output, -1) {
		files = append(files, m[1])
	}
	if len(files) == 0 {
		files = []string{"."}
	}
	return files, true
}

// fmtDiffWithout is the output of terraform fmt -check -diff without the files drop names.
// For each file it would rewrite, fmt writes the file's name on a line of its own (its
// -list), then the diff of it, as diff -u with the labels old/<name> and new/<name>: a
// file's part starts at the three lines naming it, and runs to the next such start. What
// comes before the first (a warning) is kept.
func fmtDiffWithout(diff string, drop func(name string) bool) string {
	lines := strings.SplitAfter(diff, "\n")
	var b strings.Builder
	skip := false
	for i, l := range lines {
		if name, ok := fmtDiffStart(lines[i:]); ok {
			skip = drop(name)
		}
		if !skip {
			b.WriteString(l)
		}
	}
	return b.String()
}

// fmtDiffStart reports whether lines start a file's part of fmt's diff, and the file's name.
func fmtDiffStart(lines []string) (string, bool) {
	if len(lines) < 3 {
		return "", false
	}
	name := strings.TrimSuffix(lines[0], "\n")
	return name, name != "" &&
		strings.TrimSuffix(lines[1], "\n") == "--- old/"+name &&
		strings.TrimSuffix(lines[2], "\n") == "+++ new/"+name
}

// firstDiagnostic is the first "Error: ..." line of Terraform's output and the file and
// line it names, or the output's first line.
func firstDiagnostic(output string) string {
	lines := strings.Split(output, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(strings.TrimLeft(l, "│╷╵ "))
		if !strings.HasPrefix(l, "Error: ") {
			continue
		}
		for _, next := range lines[i+1 : min(i+4, len(lines))] {
			if on := strings.TrimSpace(strings.TrimLeft(next, "│╷╵ ")); strings.HasPrefix(on, "on ") {
				return l + " (" + strings.TrimSuffix(on, ":") + ")"
			}
		}
		return l
	}
	first, _, _ := strings.Cut(strings.TrimSpace(output), "\n")
	return first
}

// ReadValidate is terraform validate's diagnostics (they name file and line), its output's
// tail, or "" when the configuration is valid (exit code 0).
func ReadValidate(code int, stdout, stderr string) string {
	if code == 0 {
		return ""
	}
	return report.Tail(stdout+"\n"+stderr, 80)
}

// Outcome is the lint step's judgement, tflint's findings failing at failAt, and a test
// of the stack's own that did not pass failing in every environment: the run blocks that
// failed, and what else went wrong (a test file that does not parse), each a reason.
func (l Lint) Outcome(failAt findings.Severity) Outcome {
	o := LintOutcome(l.Unformatted, l.Validate, l.Tflint, failAt)
	if l.FmtFailed != "" {
		o.Verdict, o.Reasons = gate.Block, append([]string{"terraform fmt failed: " + firstDiagnostic(l.FmtFailed)}, o.Reasons...)
	}
	if t := l.Tests; t != nil && !t.OK() {
		if n := t.Failed + t.Errored; n > 0 {
			o.Reasons = append(o.Reasons, fmt.Sprintf("terraform test: %d of %d run block(s) did not pass", n, t.Passed+n+t.Skipped))
		}
		if first := t.FirstError(); first != "" {
			o.Reasons = append(o.Reasons, "terraform test: "+first)
		}
		o.Verdict = gate.Block
	}
	return o
}

// Step is the pipeline's lint step in p's environment, tflint's findings failing at its
// severity threshold. Without tflint (a profile's basic validation) only fmt, validate and
// the stack's tests count; a tflint that could not run counts as any tool that could not run (ToolsOutcome).
// Either way tflint gets no SARIF run: an empty one would close its alerts.
func (l Lint) Step(p environment.Profile, tflint bool) StepReport {
	failAt := p.SeverityThreshold
	tools := []string{"tflint"}
	if !tflint {
		l.Tflint, l.TflintFailed, tools = nil, nil, nil
	}
	o := l.Outcome(failAt)
	if l.TflintFailed != nil {
		tools = nil
		o = Merge(o, ToolsOutcome(p, StepLint, []ToolFailure{*l.TflintFailed}))
	}
	step := StepReport{Outcome: o, Markdown: l.Markdown(failAt), Tools: tools, Findings: l.Tflint}
	if l.Tests != nil {
		suite := l.Tests.JUnit()
		step.Suite = &suite
	}
	return step
}

// Summary is the lint function's answer: the lint section and the reproduce line, or, when
// lint blocks at LintFailAt or tflint could not run, an error that holds both.
func (l Lint) Summary(reproduce Command) (string, error) {
	summary := l.Markdown(LintFailAt) + reproduce.Markdown()
	o := l.Outcome(LintFailAt)
	if l.TflintFailed != nil {
		o.Verdict, o.Reasons = gate.Block, append(o.Reasons, l.TflintFailed.Error())
	}
	if o.Verdict == gate.Block {
		return "", fmt.Errorf("lint failed: %s\n\n%s", strings.Join(o.Reasons, "; "), summary)
	}
	return summary, nil
}
