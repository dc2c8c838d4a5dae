package runs

import (
	"slices"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/cost"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/plan"
)

// Facts are what a finished run knows of itself; New turns them into its record.
type Facts struct {
	ID      string
	Kind    Kind
	Env     environment.Name
	Commit  string
	Ref     string
	Trigger string
	Actor   string
	Started time.Time
	Ended   time.Time
	Verdict gate.Verdict
	Reasons []string
	DryRun  bool
	Steps   []Step
	// Plan is the plan's counts; nil when the run got no plan.
	Plan     *plan.Counts
	Findings []findings.Finding
	// Cost is Infracost's report; nil or zero when it did not run.
	Cost      *cost.Report
	Applied   bool
	Reproduce string
}

// maxReason is how much of one reason a record keeps: enough to say what happened; a
// tool's whole output belongs in the run's report.
const maxReason = 300

// maxReasons bounds the reasons a record keeps.
const maxReasons = 20

// New is the record of a run. Reasons are cut to their first line; findings become counts
// by tool and severity (no messages, no resources), so nothing a tool printed about a value
// reaches the record.
func New(f Facts) Record {
	r := Record{
		SchemaVersion: SchemaVersion,
		ID:            f.ID,
		Kind:          f.Kind,
		Env:           f.Env,
		Commit:        f.Commit,
		Ref:           f.Ref,
		Trigger:       f.Trigger,
		Actor:         f.Actor,
		Started:       f.Started.UTC().Truncate(time.Millisecond),
		Ended:         f.Ended.UTC().Truncate(time.Millisecond),
		Verdict:       f.Verdict,
		DryRun:        f.DryRun,
		Steps:         slices.Clone(f.Steps),
		Findings:      CountFindings(f.Findings),
		Applied:       f.Applied,
		Reproduce:     f.Reproduce,
	}
	if r.Steps == nil {
		r.Steps = []Step{}
	}
	for _, reason := range f.Reasons {
		if len(r.Reasons) == maxReasons {
			break
		}
		r.Reasons = append(r.Reasons, shorten(reason))
	}
	if c := f.Plan; c != nil {
		r.Counts = &Counts{Create: c.Create, Update: c.Update, Replace: c.Replace, Delete: c.Delete, Import: c.Import, Drift: c.Drift}
	}
	if c := f.Cost; c != nil && c.Currency != "" {
		r.Cost = &Cost{Currency: c.Currency, Monthly: c.TotalMonthly, MonthlyDelta: c.DeltaMonthly}
	}
	return r
}

// StepOf is a step's entry: its duration from start to end, rounded to milliseconds.
func StepOf(name string, verdict gate.Verdict, findings int, start, end time.Time) Step {
	d := end.Sub(start)
	if d < 0 {
		d = 0
	}
	return Step{Name: name, Verdict: verdict, DurationMS: d.Milliseconds(), Findings: findings}
}

func shorten(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// CountFindings counts findings by tool and severity, highest severity first.
func CountFindings(fs []findings.Finding) []FindingCount {
	type key struct {
		tool string
		sev  findings.Severity
	}
	counts := map[key]*FindingCount{}
	var keys []key
	for _, f := range fs {
		k := key{f.Tool, f.Severity}
		c, ok := counts[k]
		if !ok {
			c = &FindingCount{Tool: f.Tool, Severity: f.Severity.String()}
			counts[k] = c
			keys = append(keys, k)
		}
		if f.Suppressed != "" {
			c.Suppressed++
		} else {
			c.Count++
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.sev != b.sev {
			return int(b.sev - a.sev)
		}
		return strings.Compare(a.tool, b.tool)
	})
	out := make([]FindingCount, 0, len(keys))
	for _, k := range keys {
		out = append(out, *counts[k])
	}
	return out
}
