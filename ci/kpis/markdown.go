package kpis

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/internal/markdown"
)

// JSON is kpis.json.
func (r Report) JSON() ([]byte, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write kpis.json: %w", err)
	}
	return append(data, '\n'), nil
}

// Files are the kpis function's report, name then contents: kpis.md (the report, then
// footer, e.g. the reproduce line) and kpis.json.
func (r Report) Files(footer string) ([]string, error) {
	js, err := r.JSON()
	if err != nil {
		return nil, err
	}
	return []string{"kpis.md", r.Markdown() + footer, "kpis.json", string(js)}, nil
}

// Markdown is the report for a step summary: per environment a table of the KPIs against
// their targets with the trend between the period's halves, Mermaid charts of the trends
// (GitHub renders xychart-beta), and how each KPI is computed.
func (r Report) Markdown() string {
	var b strings.Builder
	days := r.To.Sub(r.From).Hours() / 24
	unit := "days"
	if round(days) == 1 {
		unit = "day"
	}
	fmt.Fprintf(&b, "# Deployment KPIs\n\n%s to %s (%s %s), trends by %s.\n\n", r.From.Format(time.DateOnly), r.To.Format(time.DateOnly), num(round(days)), unit, r.Slice)
	for _, e := range r.Envs {
		fmt.Fprintf(&b, "## %s\n\n", e.Env)
		if e.Unread != "" {
			fmt.Fprintf(&b, "The run records could not be read, so there are no KPIs:\n\n%s\n\n", markdown.CodeBlock("", e.Unread))
			continue
		}
		if e.Runs == 0 {
			b.WriteString("No run records in the period: nothing to report. Records are written by `pipeline`, `apply`, `import` and `drift` to the state bucket (runs/).\n\n")
			e.skipped(&b)
			continue
		}
		fmt.Fprintf(&b, "%d runs, %d of them deployments.\n\n", e.Runs, e.Deployments)
		e.skipped(&b)
		b.WriteString("| KPI | value | target | | trend (first → second half) | based on |\n|---|---|---|---|---|---|\n")
		for _, k := range e.KPIs {
			value := k.Note
			if k.Value != nil {
				value = "**" + format(*k.Value, k.Unit) + "**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d |\n", k.Name, value, k.Target, mark(k.Met), trend(k), k.Samples)
		}
		b.WriteString("\n")
		if e.Open != nil {
			fmt.Fprintf(&b, "Failing since %s: the last deployment failed and none succeeded since.\n\n", e.Open.Format(time.RFC3339))
		}
		for _, c := range []struct{ key, title, unit string }{
			{SuccessRate, "Deployment success rate", "%"},
			{DeployTime, "Mean time to deploy", "minutes"},
			{CriticalFindings, "Critical findings", "count"},
			{CostEstimate, "Estimated monthly cost", e.unit(CostEstimate)},
		} {
			b.WriteString(chart(c.title, c.unit, r.Slice, e.Trends[c.key]))
		}
	}
	b.WriteString(howComputed)
	return b.String()
}

func (e Env) skipped(b *strings.Builder) {
	if e.Newer > 0 {
		fmt.Fprintf(b, "%d record(s) come from a newer infrapipe (a newer schema version) and were skipped: upgrade the pipeline to count them.\n\n", e.Newer)
	}
	if e.Invalid > 0 {
		fmt.Fprintf(b, "%d object(s) under runs/ are not valid run records and were skipped.\n\n", e.Invalid)
	}
}

func (e Env) unit(key string) string {
	for _, k := range e.KPIs {
		if k.Key == key {
			return k.Unit
		}
	}
	return ""
}

func format(v float64, unit string) string {
	switch unit {
	case "%":
		return num(v) + "%"
	case "min":
		return num(v) + " min"
	case "count":
		return num(v)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}

func mark(met *bool) string {
	switch {
	case met == nil:
		return ""
	case *met:
		return "✅"
	}
	return "❌"
}

func trend(k KPI) string {
	if k.First == nil || k.Second == nil {
		return "—"
	}
	arrow := "→"
	switch {
	case *k.Second > *k.First:
		arrow = "↑"
	case *k.Second < *k.First:
		arrow = "↓"
	}
	return fmt.Sprintf("%s %s → %s", arrow, format(*k.First, k.Unit), format(*k.Second, k.Unit))
}

// chart is a Mermaid xychart-beta line over the slices that have a value; "" for fewer
// than two points, where a line says nothing.
func chart(title, unit, slice string, points []Point) string {
	if len(points) < 2 {
		return ""
	}
	labels := make([]string, len(points))
	values := make([]string, len(points))
	lo, hi := points[0].Value, points[0].Value
	for i, p := range points {
		labels[i] = fmt.Sprintf("%q", p.Start.Format("01-02"))
		values[i] = num(p.Value)
		lo, hi = min(lo, p.Value), max(hi, p.Value)
	}
	if lo == hi {
		hi = lo + 1
	}
	lo = min(lo, 0)
	if unit == "%" {
		lo, hi = 0, 100 // a rate's scale is its whole range: 90% must not look like 0%
	}
	return fmt.Sprintf("```mermaid\nxychart-beta\n    title \"%s by %s\"\n    x-axis [%s]\n    y-axis \"%s\" %s --> %s\n    line [%s]\n```\n\n",
		title, slice, strings.Join(labels, ", "), unit, num(lo), num(hi), strings.Join(values, ", "))
}

// howComputed is the report's own account of each figure.
const howComputed = `## How each KPI is computed

- **Deployments** are ` + "`pipeline`" + ` and ` + "`import`" + ` runs that were not dry runs, and ` + "`apply`" + ` runs. A deployment succeeds when its verdict is pass or warn; block (a check, the gate or a step failed) is a failure.
- **Deployment success rate**: successful deployments over all deployments in the period. Needs 5 deployments.
- **Mean time to deploy**: the mean wall time (start to end, by the runner's own clock) of successful deployments. Needs 3.
- **Mean time to recovery**: for each failed or blocked deployment that follows a success (or opens the period), the time from its end to the end of the next successful deployment of the same environment; the mean of those. Runs are ordered by when the state bucket received their record (one clock for every runner), or by the runner's end time when that is more than an hour apart from it. A failure not yet recovered is reported as failing since.
- **Security scan and compliance pass rates**: runs of any kind whose Security scan (Compliance) step did not block, over the runs that had that step. Need 5.
- **Critical findings**: unsuppressed CRITICAL findings of the latest run in the period that scanned (lint, security scan or compliance).
- **Estimated monthly cost**: Infracost's monthly estimate of the latest successful deployment that had one; the chart shows it per slice.
- **Cost variance**: what Cost Explorer billed (UnblendedCost, grouped by the Environment tag) over the estimate in force on the same days (the latest successful deployment's monthly estimate, prorated to 24 of Infracost's 730 hours a month), as (billed − estimated) / estimated. Needs 3 billed days with an estimate in force.
- **Trend**: the same figure over the first and the second half of the period.
- Records of a newer schema version, and objects that are not records, are skipped and counted above.
`
