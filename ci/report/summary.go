package report

import (
	"fmt"
	"slices"
	"strings"
)

// Section is one part of the pipeline's summary (the header, lint, findings, plan, cost,
// the reproduce footer). Given a byte budget it returns Markdown of at most that many
// bytes; it is first asked with the whole limit, and again with less when the parts do not
// fit together.
type Section func(limit int) string

// Text is a section of fixed Markdown. Cut to a budget, it keeps whole lines, closes a code
// fence or <details> it leaves open (either would swallow the sections after it) and says
// how many lines it left out.
func Text(md string) Section {
	return func(limit int) string { return cutText(md, limit) }
}

// PlanSection is the plan summary of Markdown, without the reproduce footer, fitted to its
// budget by cutting its lists rather than its lines.
func PlanSection(r Result) Section {
	return func(limit int) string { return planMarkdown(r, limit) }
}

// Summary joins sections, in order, into one document of at most limit bytes (MaxMarkdown
// for a PR comment or step summary). When they do not all fit, a section smaller than an
// even share of what is left is kept whole, and the larger ones share the rest evenly: a
// long plan cannot push the findings, the cost or the reproduce command out of the
// comment, and the header and footer, being short, always survive.
func Summary(limit int, sections ...Section) string {
	if len(sections) == 0 || limit <= 0 {
		return ""
	}
	parts := make([]string, len(sections))
	total := 0
	for i, s := range sections {
		parts[i] = fit(s, limit)
		total += len(parts[i])
	}
	// Sections are joined with a newline, so a heading always starts a line.
	budget := limit - (len(sections) - 1)
	if total <= budget {
		return strings.Join(parts, "\n")
	}
	order := make([]int, len(parts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(parts[a]) - len(parts[b]) })
	left := max(budget, 0)
	for k, i := range order {
		share := left / (len(order) - k)
		if len(parts[i]) > share {
			parts[i] = fit(sections[i], share)
		}
		left -= len(parts[i])
	}
	// A section cut to nothing takes no separator either, or a tiny limit would overflow.
	return strings.Join(slices.DeleteFunc(parts, func(p string) bool { return p == "" }), "\n")
}

// fit renders a section and holds it to its budget even if the section overruns.
func fit(s Section, limit int) string {
	out := s(limit)
	if len(out) > limit {
		out = cutText(out, limit)
	}
	return out
}

// cutText keeps the lines of md that fit in limit bytes together with what closes the
// constructs they open and a line saying what was cut.
func cutText(md string, limit int) string {
	if len(md) <= limit {
		return md
	}
	lines := strings.SplitAfter(strings.TrimSuffix(md, "\n"), "\n")
	var (
		b       strings.Builder
		fence   string // the open code fence, if any
		details int    // <details> opened and not yet closed
	)
	for i, line := range lines {
		// The note as it would read if the cut came here: it never grows later.
		note := fmt.Sprintf("\n… %d more lines of this section not shown (see the report's files)\n", len(lines)-i)
		nextFence, nextDetails := track(line, fence, details)
		if b.Len()+len(line)+len(closing(nextFence, nextDetails))+len(note) > limit {
			tail := closing(fence, details) + note
			if b.Len()+len(tail) > limit {
				return "" // not even the note fits: better nothing than a broken document
			}
			return b.String() + tail
		}
		b.WriteString(line)
		fence, details = nextFence, nextDetails
	}
	return b.String() // unreachable while len(md) > limit, but safe
}

// track updates the open fence and <details> count with one line.
func track(line, fence string, details int) (string, int) {
	t := strings.TrimSpace(line)
	if fence != "" {
		if strings.HasPrefix(t, fence) && strings.Trim(t, "`") == "" {
			return "", details
		}
		return fence, details
	}
	if strings.HasPrefix(t, "```") {
		return t[:len(t)-len(strings.TrimLeft(t, "`"))], details
	}
	details += tags(t, "<details") - tags(t, "</details>")
	return "", max(details, 0)
}

// tags counts the HTML tags tag opens in a line, not the escaped ones (\<details\>) a
// reason or an address quoting one shows as text.
func tags(line, tag string) int {
	n := 0
	for i := strings.Index(line, tag); i >= 0; {
		if i == 0 || line[i-1] != '\\' {
			n++
		}
		next := strings.Index(line[i+1:], tag)
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return n
}

// closing is what closes an open fence and open <details> blocks.
func closing(fence string, details int) string {
	s := ""
	if fence != "" {
		s = "\n" + fence + "\n"
	}
	return s + strings.Repeat("\n</details>\n", details)
}

// CommentMarker is the first line of the pull request comment for env: the workflow finds
// the comment it posted before by this line and edits it, so pushes do not pile up comments.
func CommentMarker(env string) string { return "<!-- infrapipe:summary:" + env + " -->" }

// Comment is the summary as a pull request comment: the marker line, then the sections fitted
// so that the whole stays within GitHub's limit (MaxMarkdown).
func Comment(env string, sections ...Section) string {
	marker := CommentMarker(env)
	return marker + "\n" + Summary(MaxMarkdown-len(marker)-1, sections...)
}
