package pipeline

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
)

// Tool is a tool the module runs in its own image, and the constructor option that picks
// another image for it.
type Tool struct {
	Name  string // e.g. checkov
	Image string // e.g. bridgecrew/checkov:3.2.524
	Flag  string // the constructor option without dashes, e.g. checkov-image
}

// ToolFailure is a tool that could not run: its image could not be pulled, or its container
// failed before the tool wrote its report. Its message names the image and the option that
// overrides it, so a private mirror or a pinned fix is one flag away.
type ToolFailure struct {
	Tool Tool
	Err  error
}

func (f ToolFailure) Error() string {
	if ImageUnavailable(f.Err) {
		return fmt.Sprintf("%s could not run: image %s is not available (use --%s to pick another)", f.Tool.Name, f.Tool.Image, f.Tool.Flag)
	}
	return fmt.Sprintf("%s could not run in image %s (use --%s to pick another): %s", f.Tool.Name, f.Tool.Image, f.Tool.Flag, lastLine(f.Err))
}

func (f ToolFailure) Unwrap() error { return f.Err }

// unavailable are the engine's and registries' words for an image that cannot be pulled.
var unavailable = []string{
	"failed to resolve source metadata",
	"failed to resolve image",
	"manifest unknown",
	"pull access denied",
	"repository does not exist",
	"not found: not found",
	": not found",
	"no such host",
	"insufficient_scope",
}

// ran is the module's word for a command that ran and exited (execFailure's "<command>
// exited with code N:", or the engine's "exit code N:"): its output may say "no such host"
// or "not found" of something else than the image, such as a tflint plugin it could not
// download.
var ran = regexp.MustCompile(`(^|: )exit code [0-9]+:| exited with code [0-9]+:`)

// ImageUnavailable reports whether err says a container's image could not be pulled, as
// opposed to a tool that ran and failed.
func ImageUnavailable(err error) bool {
	if err == nil || ran.MatchString(err.Error()) {
		return false
	}
	msg := strings.ToLower(err.Error())
	for _, s := range unavailable {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// CouldNotRunEffect says what the profile makes of a check that could not run: it warns,
// or blocks where the profile sets failures_block (prod).
func CouldNotRunEffect(p environment.Profile) string {
	if p.FailuresBlock {
		return fmt.Sprintf("in %s a check that could not run blocks", p.Name)
	}
	return fmt.Sprintf("in %s a check that could not run warns", p.Name)
}

// ToolsOutcome judges a step some of whose tools could not run (the others' findings still
// count): like Broken, a warning, or a block where the profile sets failures_block. Each
// reason names the tool, its image, the option that overrides it and the profile's effect.
// No failures is a pass with no reasons.
func ToolsOutcome(p environment.Profile, s Step, failed []ToolFailure) Outcome {
	o := Outcome{Step: s, Verdict: gate.Pass}
	if len(failed) == 0 {
		return o
	}
	o.Verdict = gate.Warn
	if p.FailuresBlock {
		o.Verdict = gate.Block
	}
	for _, f := range failed {
		o.Reasons = append(o.Reasons, f.Error()+"; "+CouldNotRunEffect(p))
	}
	return o
}

// Merge is one step's outcome from two judgements of it (its findings, its tools): the
// more serious verdict with its reasons, and the other's as warnings when they only warn.
func Merge(a, b Outcome) Outcome {
	o := Outcome{Step: a.Step, Verdict: gate.Worse(a.Verdict, b.Verdict), Warnings: append(slices.Clone(a.Warnings), b.Warnings...)}
	for _, x := range []Outcome{a, b} {
		if x.Verdict == o.Verdict {
			o.Reasons = append(o.Reasons, x.Reasons...)
		} else {
			o.Warnings = append(o.Warnings, x.Reasons...)
		}
	}
	if o.Reasons == nil {
		o.Reasons = []string{}
	}
	return o
}

// lastLine is the last non-empty line of an error, where engines and tools put the cause.
func lastLine(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}
