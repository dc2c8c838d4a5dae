package report

import (
	"fmt"
	"html"
	"strings"

	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/markdown"
	"github.com/infrapipe/infrapipe/ci/plan"
)

// Tail keeps the last n non-empty lines of a tool's output, where tools put their error.
func Tail(s string, n int) string {
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

// MaxMarkdown is GitHub's limit on a comment body; the step summary allows more, so one
// size fits both.
const MaxMarkdown = 65536

// maxReproduce bounds the command line, which is the caller's and could be anything.
const maxReproduce = 4096

// Markdown renders the plan summary: verdict and counts, the gate's reasons, destructive
// changes first, then every change in a collapsed list, ending with the command that
// reproduces the run (left out when reproduce is empty). Lists that do not fit in
// MaxMarkdown are cut with a line saying how many entries are missing; result.json always
// has them all.
func Markdown(r Result, reproduce string) string {
	footer := Footer(reproduce)
	return planMarkdown(r, MaxMarkdown-len(footer)) + footer
}

// Footer is the summary's closing "Reproduce with:" block, or "" when reproduce is empty.
// A command longer than 4,096 bytes is cut: it is the caller's and could be anything.
func Footer(reproduce string) string {
	if reproduce == "" {
		return ""
	}
	if len(reproduce) > maxReproduce {
		reproduce = reproduce[:maxReproduce] + " …"
	}
	return "\n**Reproduce with:**\n\n" + markdown.CodeBlock("shell", reproduce) + "\n"
}

// resourcesIn names the regions of r's resources for the summary's header: the regions its
// provider configurations name, or the pipeline's region when the plan names none.
func resourcesIn(r Result) string {
	names := r.Regions
	if len(names) == 0 && r.RegionsUnknown == 0 && r.Region != "" {
		names = []string{r.Region}
	}
	in := codeSpans(names)
	switch {
	case r.RegionsUnknown == 0:
		return in
	case in == "":
		return "regions set by expressions the plan does not resolve"
	}
	return in + " and regions set by expressions the plan does not resolve"
}

// codeSpans is names as code spans, separated by commas.
func codeSpans(names []string) string {
	spans := make([]string, len(names))
	for i, n := range names {
		spans[i] = markdown.CodeSpan(n)
	}
	return strings.Join(spans, ", ")
}

// planMarkdown is the plan summary without a footer, in at most limit bytes.
func planMarkdown(r Result, limit int) string {
	d := &doc{limit: limit}

	env := string(r.Env)
	d.line(fmt.Sprintf("## %s Terraform plan for `%s`: %s", icon(r.Verdict), Escape(env), strings.ToUpper(string(r.Verdict))))
	d.line("")
	var where []string
	if r.State != "" {
		where = append(where, "State: "+markdown.CodeSpan(r.State))
	}
	if in := resourcesIn(r); in != "" {
		where = append(where, "resources in "+in)
	}
	if len(r.VarFiles) > 0 {
		where = append(where, "variables from "+codeSpans(r.VarFiles))
	}
	if len(where) > 0 {
		d.line(strings.Join(where, " · "))
		d.line("")
	}
	n := r.Counts
	if !n.HasChanges() {
		d.line("**No changes.** The infrastructure matches the configuration.")
	} else {
		line := fmt.Sprintf("**Plan:** %d to add, %d to change, %d to destroy (%d of them replaced), %d to import, %d to forget",
			n.Create+n.Replace, n.Update, n.Delete+n.Replace, n.Replace, n.Import, n.Forget)
		if n.Move > 0 {
			line += fmt.Sprintf(", %d to move", n.Move)
		}
		d.line(line + ".")
	}
	if len(r.OutputChanges) > 0 {
		// Names and what happens to each, never values: an output may be sensitive.
		const most = 20
		var outs []string
		for i, o := range r.OutputChanges {
			if i == most {
				outs = append(outs, fmt.Sprintf("and %d more (see result.json)", len(r.OutputChanges)-most))
				break
			}
			outs = append(outs, fmt.Sprintf("%s (%s)", markdown.CodeSpan(o.Name), o.Kind))
		}
		d.line("")
		d.line("**Outputs to save:** " + strings.Join(outs, ", "))
	}
	d.line("")
	d.line("| Create | Update | Replace | Delete | Import | Forget | Move | Drift | No-op |")
	d.line("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	d.line(fmt.Sprintf("| %d | %d | %d | %d | %d | %d | %d | %d | %d |",
		n.Create, n.Update, n.Replace, n.Delete, n.Import, n.Forget, n.Move, n.Drift, n.NoOp))
	d.line("")

	// Each list may fill the document up to its share, so a long list of reasons cannot
	// squeeze out the destructive changes or the full list.
	share := func(percent int) int { return d.limit * percent / 100 }
	if len(r.Reasons) > 0 {
		d.line(fmt.Sprintf("### Gate: %s", r.Verdict))
		d.line("")
		lines := make([]string, len(r.Reasons))
		for i, s := range r.Reasons {
			lines[i] = "- " + Escape(s)
		}
		d.list(lines, share(40), "reasons")
		d.line("")
	}

	var destructive []Change
	for _, c := range r.Changes {
		if c.Destructive {
			destructive = append(destructive, c)
		}
	}
	if len(destructive) > 0 {
		d.table(fmt.Sprintf("### Destructive changes (%d)", len(destructive)), "| | Resource | Action | Why |",
			rows(destructive), share(70), "destructive changes")
	}
	if len(r.Drift) > 0 {
		d.table(fmt.Sprintf("### Changed outside Terraform (%d)", len(r.Drift)), "| | Resource | Change | |",
			rows(r.Drift), share(80), "drifted resources")
	}
	if len(r.Changes) > 0 {
		// The closing tag is reserved first: an unclosed <details> would swallow every
		// section the pipeline summary puts after this one.
		d.limit -= len(detailsEnd)
		d.table(fmt.Sprintf("<details><summary>All changes (%d)</summary>", len(r.Changes)), "| | Resource | Action | Why |",
			rows(r.Changes), d.limit-40, "changes")
		d.limit += len(detailsEnd)
		d.WriteString(detailsEnd)
	}
	return d.String()
}

const detailsEnd = "</details>\n"

// doc is a Markdown document that refuses to grow past its limit.
type doc struct {
	strings.Builder
	limit int
}

func (d *doc) line(s string) {
	if d.Len()+len(s)+1 <= d.limit {
		d.WriteString(s + "\n")
	}
}

// table writes a titled four-column table of rows, cut at upTo bytes, and a blank line.
func (d *doc) table(title, header string, rows []string, upTo int, what string) {
	d.line(title)
	d.line("")
	d.line(header)
	d.line("|---|---|---|---|")
	d.list(rows, upTo, what)
	d.line("")
}

// list writes lines while the document stays under upTo bytes, then says what it cut.
func (d *doc) list(lines []string, upTo int, what string) {
	for i, s := range lines {
		if d.Len()+len(s)+1+80 > upTo {
			d.line(fmt.Sprintf("\n… and %d more %s not shown (see result.json)", len(lines)-i, what))
			return
		}
		d.line(s)
	}
}

func rows(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		mark := ""
		switch {
		case c.Destructive && c.Protected:
			mark = "🛑"
		case c.Destructive:
			mark = "⚠️"
		case c.Kind == plan.Forget || c.Kind == plan.CreateThenForget:
			mark = "👋"
		}
		action := string(c.Kind)
		if c.ImportID != "" {
			action += ", import <code>" + cell(c.ImportID) + "</code>"
		}
		if c.PreviousAddress != "" && c.PreviousAddress != c.Address {
			action += ", moved from <code>" + cell(c.PreviousAddress) + "</code>"
		}
		why := cell(c.Why)
		if c.Protected && c.Destructive {
			why = strings.TrimPrefix(why+"; protected type", "; ")
		}
		out[i] = fmt.Sprintf("| %s | <code>%s</code> | %s | %s |", mark, cell(c.Address), action, why)
	}
	return out
}

// cell escapes text for a table cell: HTML-escaped (addresses may hold for_each keys with
// any character) and with pipes and newlines neutralised.
func cell(s string) string {
	s = html.EscapeString(s)
	s = strings.ReplaceAll(s, "|", "&#124;")
	s = strings.ReplaceAll(s, "`", "&#96;")
	return strings.Join(strings.Fields(s), " ")
}

// mdText escapes text for a Markdown paragraph or list item.
// Escape is ci/internal/markdown's escaper for outside text in Markdown prose: every report
// and the module's summaries put reasons, keys and messages through it.
func Escape(s string) string { return markdown.Text(s) }

func icon(v gate.Verdict) string {
	switch v {
	case gate.Block:
		return "⛔"
	case gate.Warn:
		return "⚠️"
	}
	return "✅"
}
