package importer

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/internal/markdown"
)

// Report is the import step's record: what was found, what became of each resource, and
// what discovery cost.
type Report struct {
	Environment   string          `json:"environment"`
	DryRun        bool            `json:"dry_run"`
	Counts        map[Status]int  `json:"counts"`
	Entries       []Entry         `json:"entries"`
	Discovery     discovery.Stats `json:"discovery"`
	StateRemovals []string        `json:"state_removals,omitempty"`
}

// NewReport summarises a plan (before or after Resolve).
func NewReport(env string, dryRun bool, p *Plan, stats discovery.Stats) Report {
	r := Report{Environment: env, DryRun: dryRun, Counts: map[Status]int{}, Entries: p.Entries,
		Discovery: stats, StateRemovals: p.StateRemovals}
	for _, e := range p.Entries {
		r.Counts[e.Status]++
	}
	if r.Entries == nil {
		r.Entries = []Entry{}
	}
	return r
}

// JSON is the machine-readable report.
func (r Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode import report: %w", err)
	}
	return append(b, '\n'), nil
}

// Markdown is the report for a pull request comment or the job summary.
func (r Report) Markdown() string {
	var b strings.Builder
	title := "Import"
	if r.DryRun {
		title = "Import (dry run: nothing written)"
	}
	fmt.Fprintf(&b, "## %s: %s\n\n", title, r.Environment)
	var counts []string
	for _, s := range []Status{Imported, Import, Skipped, Failed, Unmapped, Ambiguous} {
		if n := r.Counts[s]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, label(s, r.DryRun)))
		}
	}
	if len(counts) == 0 {
		counts = []string{"no tagged resources found"}
	}
	fmt.Fprintf(&b, "%s. Discovery: %d API calls, %d retries, %s.\n",
		strings.Join(counts, ", "), r.Discovery.Calls, r.Discovery.Retries, r.Discovery.Elapsed.Round(1e6))
	if len(r.Entries) > 0 {
		b.WriteString("\n| status | address | type | import id | note |\n|---|---|---|---|---|\n")
		for _, e := range r.Entries {
			addr := e.Address
			if addr == "" {
				addr = strings.Join(e.Candidates, ", ")
			}
			id := e.ID
			if id == "" {
				id = e.ARN
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", label(e.Status, r.DryRun), markdown.CodeSpan(addr),
				markdown.CodeSpan(e.Type), markdown.CodeSpan(id), markdown.CodeSpan(e.Reason))
		}
	}
	if len(r.StateRemovals) > 0 {
		fmt.Fprintf(&b, "\nForced re-import: removed from state first: %s.\n", strings.Join(r.StateRemovals, ", "))
	}
	if r.Counts[Ambiguous] > 0 {
		b.WriteString("\nAmbiguous resources are not imported: several of the plan's creates match each, and the create whose " +
			"name is taken fails with \"already exists\": tell them apart by name or Name tag, or import them by hand.\n")
	}
	if r.Counts[Unmapped] > 0 {
		b.WriteString("\nUnmapped resources are not imported. One of a type the importer does not map: import it by hand " +
			"if this stack should manage it. One that no create of this stack's plan matches may belong to another stack of " +
			"the project, or to none: if this stack is meant to manage it, give its configuration the same name or Name tag.\n")
	}
	return b.String()
}

func label(s Status, dryRun bool) string {
	if s == Import && dryRun {
		return "would import"
	}
	if s == Import {
		return "to import"
	}
	return string(s)
}
