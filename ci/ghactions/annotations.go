package ghactions

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/infrapipe/infrapipe/ci/findings"
)

// DefaultAnnotationLimit is how many annotations of one level GitHub shows per step; the
// rest are dropped silently, so Annotate stops there and says how many it left out.
const DefaultAnnotationLimit = 10

// AnnotateOptions say how findings become annotations.
type AnnotateOptions struct {
	// Dir is the Terraform directory relative to the repository root: findings carry paths
	// relative to it, annotations need paths relative to the repository.
	Dir string
	// Fallback is the repository file for findings that name no usable file, as in
	// findings.SARIFOptions (give both the same): empty means Dir/main.tf.
	Fallback string
	// FailAt is the severity from which a finding is an error (the environment's threshold);
	// below it a finding is a warning, and INFO or UNKNOWN a notice. Zero means HIGH.
	FailAt findings.Severity
	// Limit caps the annotations per level; zero means DefaultAnnotationLimit.
	Limit int
}

// Annotate writes findings as workflow commands (::error file=...,line=...,title=...::msg),
// most severe first, so they show on the pull request's files where GitHub can place them
// (the run's most severe findings, not only those on changed lines). Every value goes
// through go-githubactions' escaping: a newline, '%', ':' or ',' in a message or path cannot
// end the command or start another one. Suppressed findings are left out; they are in the
// report. w is the job's log: the workflow prints the file this writes to.
func Annotate(w io.Writer, fs []findings.Finding, opts AnnotateOptions) {
	failAt := cmp.Or(opts.FailAt, findings.High)
	limit := cmp.Or(opts.Limit, DefaultAnnotationLimit)
	active := make([]findings.Finding, 0, len(fs))
	for _, f := range fs {
		if f.Suppressed == "" {
			active = append(active, f)
		}
	}
	slices.SortStableFunc(active, func(a, b findings.Finding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Tool, b.Tool),
			cmp.Compare(a.RuleID, b.RuleID),
		)
	})
	// Within a severity, each rule's first finding before any rule's second: a rule on a
	// counted resource would otherwise take every slot, and hide the other rules.
	type ranked struct {
		findings.Finding
		nth int // the rule's findings before this one
	}
	rs := make([]ranked, len(active))
	seen := map[string]int{}
	for i, f := range active {
		key := f.Tool + "\x00" + f.RuleID
		rs[i] = ranked{f, seen[key]}
		seen[key]++
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.nth, b.nth))
	})

	action := githubactions.New(githubactions.WithWriter(w))
	// One notice slot stays free for the line that says how many were left out.
	capacity := map[string]int{"error": limit, "warning": limit, "notice": limit - 1}
	left := 0
	for _, r := range rs {
		f := r.Finding
		level := "notice"
		switch {
		case f.Severity >= failAt:
			level = "error"
		case f.Severity >= findings.Low:
			level = "warning"
		}
		if capacity[level] <= 0 {
			left++
			continue
		}
		capacity[level]--
		a := action.WithFieldsMap(annotationFields(f, findings.SARIFOptions{Root: opts.Dir, Fallback: opts.Fallback}))
		msg := annotationMessage(f)
		// The message goes in as an argument, never as the format: a '%' in a scanner's
		// message must not be read as a verb.
		switch level {
		case "error":
			a.Errorf("%s", msg)
		case "warning":
			a.Warningf("%s", msg)
		default:
			a.Noticef("%s", msg)
		}
	}
	if left > 0 {
		action.Noticef(leftOutNotice, left, limit)
	}
}

// leftOutNotice is the last annotation when some were left out; MergeAnnotations reads its
// count back.
const leftOutNotice = "%d more findings are not shown as annotations (GitHub shows %d per level and step): see results.sarif in the report or the code scanning alerts"

// MergeAnnotations joins the annotation files of several runs (each Annotate's, e.g. one a
// stack) for one step, under the same caps: at most limit errors and warnings and limit-1
// notices, taken from each file in turn, so every file shows its most severe first, and one
// notice counting everything left out, what the files had left out included. Zero limit
// means DefaultAnnotationLimit.
func MergeAnnotations(files []string, limit int) string {
	limit = cmp.Or(limit, DefaultAnnotationLimit)
	levels := []string{"error", "warning", "notice"}
	byLevel := make([][][]string, len(levels)) // level → file → lines
	left := 0
	for _, file := range files {
		perLevel := make([][]string, len(levels))
		for _, line := range strings.SplitAfter(file, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var n, per int
			if rest, ok := strings.CutPrefix(line, "::notice::"); ok {
				if k, err := fmt.Sscanf(rest, leftOutNotice, &n, &per); err == nil && k == 2 {
					left += n
					continue
				}
			}
			for i, l := range levels {
				if strings.HasPrefix(line, "::"+l+" ") || strings.HasPrefix(line, "::"+l+"::") {
					perLevel[i] = append(perLevel[i], strings.TrimSuffix(line, "\n")+"\n")
					break
				}
			}
		}
		for i := range levels {
			byLevel[i] = append(byLevel[i], perLevel[i])
		}
	}
	var b strings.Builder
	for i := range levels {
		room := limit
		if levels[i] == "notice" {
			room = limit - 1
		}
		for round := 0; ; round++ {
			more := false
			for _, lines := range byLevel[i] {
				if round >= len(lines) {
					continue
				}
				more = true
				if room > 0 {
					b.WriteString(lines[round])
					room--
				} else {
					left++
				}
			}
			if !more {
				break
			}
		}
	}
	if left > 0 {
		githubactions.New(githubactions.WithWriter(&b)).Noticef(leftOutNotice, left, limit)
	}
	return b.String()
}

// annotationFields place a finding where results.sarif does (findings.SARIFOptions.Place):
// a policy finding on the plan would otherwise show on the pull request without a file while
// code scanning shows it in one, and a container path would name no repository file.
func annotationFields(f findings.Finding, where findings.SARIFOptions) map[string]string {
	file, line := where.Place(f)
	return map[string]string{"title": f.Tool + " " + f.RuleID, "file": file, "line": strconv.Itoa(line)}
}

func annotationMessage(f findings.Finding) string {
	msg := fmt.Sprintf("[%s] %s: %s", f.Severity, f.RuleID, f.Message)
	if f.Resource != "" {
		msg += " (" + f.Resource + ")"
	}
	if f.Link != "" {
		msg += " " + f.Link
	}
	return msg
}
