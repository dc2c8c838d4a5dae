package findings

import (
	"fmt"
	"sort"
	"strings"

	"github.com/infrapipe/infrapipe/ci/internal/markdown"
)

// Markdown renders the findings section of the run summary: counts per tool and severity,
// the top failing findings, the suppressed ones with their reasons, and the notices of
// Suppressions.Apply (expired entries, entries that matched nothing). top bounds both
// lists (GitHub cuts long comments); 0 lists all.
// Tool output is text, never markup: a message cannot open a tag or a link of its own.
func Markdown(fs []Finding, r Result, notices []string, top int) string {
	var b strings.Builder
	b.WriteString("### Security and compliance findings\n\n")
	if r.Passed() {
		fmt.Fprintf(&b, "**Passed**: no unsuppressed finding at or above %s (%d findings in total).\n\n", r.Threshold, len(fs))
	} else {
		fmt.Fprintf(&b, "**Failed**: %d findings at or above %s (%d in total).\n\n", len(r.Failing), r.Threshold, len(fs))
	}

	counts := map[string]map[Severity]int{}
	for _, f := range fs {
		if f.Suppressed != "" {
			continue
		}
		if counts[f.Tool] == nil {
			counts[f.Tool] = map[Severity]int{}
		}
		counts[f.Tool][f.Severity]++
	}
	if len(counts) > 0 {
		tools := make([]string, 0, len(counts))
		for t := range counts {
			tools = append(tools, t)
		}
		sort.Slice(tools, func(i, j int) bool {
			return toolRank(tools[i]) < toolRank(tools[j]) || (toolRank(tools[i]) == toolRank(tools[j]) && tools[i] < tools[j])
		})
		b.WriteString("| Tool | CRITICAL | HIGH | MEDIUM | LOW | INFO |\n|---|---:|---:|---:|---:|---:|\n")
		for _, t := range tools {
			c := counts[t]
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d |\n", cell(t), c[Critical], c[High], c[Medium], c[Low], c[Info]+c[Unknown])
		}
		b.WriteString("\n")
	}

	if len(r.Failing) > 0 {
		b.WriteString("| Severity | Tool | Rule | Resource | Location | Message |\n|---|---|---|---|---|---|\n")
		shown, more := upTo(r.Failing, top)
		for _, f := range shown {
			rule := cell(f.RuleID)
			if link := safeLink(f.Link); link != "" {
				rule = fmt.Sprintf("[%s](%s)", rule, link)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", f.Severity, cell(f.Tool), rule, cell(f.Resource), cell(location(f)), cell(f.Message))
		}
		if more > 0 {
			fmt.Fprintf(&b, "\n…and %d more failing findings (see the SARIF upload).\n", more)
		}
		b.WriteString("\n")
	}

	if len(r.Suppressed) > 0 {
		b.WriteString("**Suppressed**\n\n")
		shown, more := upTo(r.Suppressed, top)
		for _, f := range shown {
			fmt.Fprintf(&b, "- %s %s %s: %s\n", cell(f.Tool), cell(f.RuleID), cell(nonEmpty(f.Resource, location(f))), cell(f.Suppressed))
		}
		if more > 0 {
			fmt.Fprintf(&b, "- …and %d more suppressed findings (see findings.json)\n", more)
		}
		b.WriteString("\n")
	}
	if len(notices) > 0 {
		b.WriteString("**Suppressions to review**\n\n")
		for _, n := range notices {
			fmt.Fprintf(&b, "- %s\n", clipped(n, 600))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// upTo returns the first top findings (all of them when top is 0 or less) and how many
// it left out.
func upTo(fs []Finding, top int) ([]Finding, int) {
	if top <= 0 || len(fs) <= top {
		return fs, 0
	}
	return fs[:top], len(fs) - top
}

func location(f Finding) string {
	if f.File == "" {
		return ""
	}
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// safeLink returns a tool's link when it is a plain http(s) URL that cannot end the
// Markdown link early; anything else (javascript:, spaces, parentheses) is left out.
func safeLink(link string) string {
	if !strings.HasPrefix(link, "https://") && !strings.HasPrefix(link, "http://") ||
		strings.ContainsAny(link, " \t\n()<>[]|`\"") {
		return ""
	}
	return link
}

// cell keeps a tool's value from breaking the table or the page (markdown.Cell) and from
// crowding it: only its first line, at most 160 characters.
func cell(s string) string { return clipped(s, 160) }

// clipped is the first line of s as Markdown text, cut to max characters. A notice is a
// sentence whose end says where to look, so it gets more room than a cell.
func clipped(s string, max int) string {
	s = markdown.Text(firstLine(s))
	if r := []rune(s); len(r) > max {
		s = string(r[:max-3]) + "..."
	}
	return s
}
