package pipeline

import (
	"fmt"
	"path"
	"strings"

	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
)

// ReadFmt reads what commands.FmtCheck left: the files terraform fmt would rewrite (its
// stdout, one per line, made repository paths by joining dir, the Terraform directory) and
// the diff that fixes them (its stderr). Exit code 0 is formatted code; a non-zero exit
// that names no file is fmt itself failing (a syntax error), an error with its output.
func ReadFmt(dir string, code int, stdout, stderr string) (unformatted []string, diff string, err error) {
	if code == 0 {
		return nil, "", nil
	}
	for _, l := range strings.Split(stdout, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			unformatted = append(unformatted, path.Join(dir, l))
		}
	}
	if len(unformatted) == 0 {
		return nil, "", fmt.Errorf("terraform fmt failed (exit code %d):\n%s", code, Tail(stderr, 30))
	}
	return unformatted, stderr, nil
}

// ReadValidate is terraform validate's diagnostics (they name file and line), its output's
// tail, or "" when the configuration is valid (exit code 0).
func ReadValidate(code int, stdout, stderr string) string {
	if code == 0 {
		return ""
	}
	return Tail(stdout+"\n"+stderr, 80)
}

// Outcome is the lint step's judgement, tflint's findings failing at failAt.
func (l Lint) Outcome(failAt findings.Severity) Outcome {
	return LintOutcome(l.Unformatted, l.Validate, l.Tflint, failAt)
}

// Step is the pipeline's lint step at failAt. Without tflint (a profile's basic validation)
// only fmt and validate count, and tflint's SARIF run is empty.
func (l Lint) Step(tflint bool, failAt findings.Severity) StepReport {
	if !tflint {
		l.Tflint = nil
	}
	return StepReport{Outcome: l.Outcome(failAt), Markdown: l.Markdown(failAt), Tools: []string{"tflint"}, Findings: l.Tflint}
}

// Summary is the lint function's answer: the lint section and the reproduce line, or, when
// lint blocks at LintFailAt, an error that holds both.
func (l Lint) Summary(reproduce Command) (string, error) {
	summary := l.Markdown(LintFailAt) + reproduce.Markdown()
	if o := l.Outcome(LintFailAt); o.Verdict == gate.Block {
		return "", fmt.Errorf("lint failed: %s\n\n%s", strings.Join(o.Reasons, "; "), summary)
	}
	return summary, nil
}
