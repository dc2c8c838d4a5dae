// Package cost reads Infracost's JSON (breakdown or diff) and decides whether a plan's
// monthly cost fits an environment's budget. Without an Infracost API key there is no
// estimate; the profile's Budget.RequireEstimate decides whether that blocks.
package cost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/internal/markdown"
)

// Report is the part of `infracost breakdown|diff --format json` the gate uses. Amounts
// are monthly, in Currency (Infracost's setting; empty reads as USD, its default).
type Report struct {
	Currency     string
	Command      string // breakdown or diff
	TotalMonthly float64
	PastMonthly  float64
	DeltaMonthly float64
	Changes      []Change // one per resource whose monthly cost changes, largest first
}

// Change is one resource's monthly cost before and after the plan.
type Change struct {
	Project  string
	Resource string // Terraform address
	Type     string
	Before   float64
	After    float64
	Delta    float64
}

type infracostJSON struct {
	Version  string           `json:"version"`
	Currency string           `json:"currency"`
	Metadata map[string]any   `json:"metadata"`
	Projects *[]infracostProj `json:"projects"`
	Total    *string          `json:"totalMonthlyCost"`
	Past     *string          `json:"pastTotalMonthlyCost"`
	Diff     *string          `json:"diffTotalMonthlyCost"`
}

type infracostProj struct {
	Name          string              `json:"name"`
	DisplayName   string              `json:"displayName"`
	Breakdown     *infracostBreakdown `json:"breakdown"`
	PastBreakdown *infracostBreakdown `json:"pastBreakdown"`
	Diff          *infracostBreakdown `json:"diff"`
}

type infracostBreakdown struct {
	Resources []struct {
		Name         string  `json:"name"`
		ResourceType string  `json:"resourceType"`
		MonthlyCost  *string `json:"monthlyCost"`
	} `json:"resources"`
}

// Parse reads Infracost's JSON output. name (usually the file) labels errors; empty or
// malformed output is an error, never a zero cost.
func Parse(name string, data []byte) (Report, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Report{}, fmt.Errorf("infracost %s: empty output: infracost wrote nothing, so it probably failed", name)
	}
	var in infracostJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return Report{}, fmt.Errorf("infracost %s: not infracost --format json output: %w", name, err)
	}
	if in.Version == "" || in.Projects == nil {
		return Report{}, fmt.Errorf("infracost %s: no version or projects: not infracost --format json output", name)
	}
	r := Report{Currency: in.Currency}
	if c, ok := in.Metadata["infracostCommand"].(string); ok {
		r.Command = c
	}
	var err error
	if r.TotalMonthly, err = amount(in.Total); err != nil {
		return Report{}, fmt.Errorf("infracost %s: totalMonthlyCost: %w", name, err)
	}
	if r.PastMonthly, err = amount(in.Past); err != nil {
		return Report{}, fmt.Errorf("infracost %s: pastTotalMonthlyCost: %w", name, err)
	}
	if in.Diff != nil {
		if r.DeltaMonthly, err = amount(in.Diff); err != nil {
			return Report{}, fmt.Errorf("infracost %s: diffTotalMonthlyCost: %w", name, err)
		}
	} else if r.DeltaMonthly = r.TotalMonthly - r.PastMonthly; math.IsInf(r.DeltaMonthly, 0) {
		// Each amount is finite, their difference need not be: Inf would pass or fail any bound.
		return Report{}, fmt.Errorf("infracost %s: totalMonthlyCost %q minus pastTotalMonthlyCost %q is not an amount", name, *in.Total, *in.Past)
	}
	for _, p := range *in.Projects {
		project := p.DisplayName
		if project == "" {
			project = p.Name
		}
		types := map[string]string{}
		before, err := costs(p.PastBreakdown, types)
		if err != nil {
			return Report{}, fmt.Errorf("infracost %s: project %s pastBreakdown: %w", name, project, err)
		}
		after, err := costs(p.Breakdown, types)
		if err != nil {
			return Report{}, fmt.Errorf("infracost %s: project %s breakdown: %w", name, project, err)
		}
		if p.Diff == nil {
			continue
		}
		for _, res := range p.Diff.Resources {
			d, err := amount(res.MonthlyCost)
			if err != nil {
				return Report{}, fmt.Errorf("infracost %s: project %s resource %s: %w", name, project, res.Name, err)
			}
			if d == 0 {
				continue
			}
			typ := res.ResourceType
			if typ == "" {
				typ = types[res.Name] // diff entries often leave it out
			}
			if typ == "" {
				typ = typeOf(res.Name) // and older versions everywhere
			}
			r.Changes = append(r.Changes, Change{
				Project: project, Resource: res.Name, Type: typ,
				Before: before[res.Name], After: after[res.Name], Delta: d,
			})
		}
	}
	sort.SliceStable(r.Changes, func(i, j int) bool {
		a, b := math.Abs(r.Changes[i].Delta), math.Abs(r.Changes[j].Delta)
		if a != b {
			return a > b
		}
		return r.Changes[i].Resource < r.Changes[j].Resource
	})
	return r, nil
}

// ReadFile reads and parses an Infracost JSON file.
func ReadFile(path string) (Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Report{}, fmt.Errorf("read infracost output: %w", err)
	}
	return Parse(path, data)
}

// amount reads Infracost's decimal strings; null (no price, e.g. usage-based with no
// usage file) counts as zero.
func amount(s *string) (float64, error) {
	if s == nil || *s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(*s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not an amount", *s)
	}
	return v, nil
}

var instanceKey = regexp.MustCompile(`\[[^\]]*\]`)

// typeOf reads the resource type from an address: module.a.aws_instance.b["x.y"] -> aws_instance.
func typeOf(address string) string {
	parts := strings.Split(instanceKey.ReplaceAllString(address, ""), ".")
	if len(parts) < 2 {
		return ""
	}
	return parts[len(parts)-2]
}

// costs maps resource address to monthly cost, and records each resource's type.
func costs(b *infracostBreakdown, types map[string]string) (map[string]float64, error) {
	m := map[string]float64{}
	if b == nil {
		return m, nil
	}
	for _, r := range b.Resources {
		if r.ResourceType != "" {
			types[r.Name] = r.ResourceType
		}
		v, err := amount(r.MonthlyCost)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", r.Name, err)
		}
		m[r.Name] = v
	}
	return m, nil
}

// Status is the cost gate's outcome.
type Status string

const (
	WithinBudget Status = "within-budget"
	OverBudget   Status = "over-budget"
	// NotEvaluated: no estimate (no Infracost API key), or one that cannot be compared
	// with the budget (not in USD). Blocking only when the profile's
	// Budget.RequireEstimate says so.
	NotEvaluated Status = "not-evaluated"
)

// Result is the cost gate's decision for one environment. Whether it blocks and its
// findings are methods, derived from Status, Budget and Report, so they cannot disagree
// with the decision.
type Result struct {
	Status  Status
	Reasons []string // why it is over budget, or why it was not evaluated
	Budget  environment.Budget
	Report  Report   // zero when NotEvaluated
	Top     []Change // the largest changes, at most the top asked for
}

// Blocking reports whether the result stops the run: over budget always, no estimate
// only where the environment's budget requires one.
func (r Result) Blocking() bool {
	return r.Status == OverBudget || r.Status == NotEvaluated && r.Budget.RequireEstimate
}

// Findings are the reasons in the pipeline's one findings shape (tool "infracost"), for
// the merged SARIF and the findings list: a blocking reason is CRITICAL, so it fails every
// environment's threshold as it blocks the gate; a skipped estimate is INFO.
func (r Result) Findings() []findings.Finding {
	var fs []findings.Finding
	switch r.Status {
	case NotEvaluated:
		for _, reason := range r.Reasons {
			fs = append(fs, finding(RuleNoEstimate, "cost not evaluated: "+reason, r.Blocking()))
		}
	case OverBudget:
		for _, o := range overruns(r.Report, r.Budget) {
			fs = append(fs, finding(o.rule, o.reason, true))
		}
	}
	return fs
}

// Rule IDs of the cost gate's findings.
const (
	RuleMonthlyTotal = "budget.monthly_total"
	RuleMonthlyDelta = "budget.monthly_delta"
	RuleNoEstimate   = "cost_not_evaluated"
)

// finding is one reason of the cost gate as a finding.
func finding(rule, reason string, blocking bool) findings.Finding {
	sev := findings.Info
	if blocking {
		sev = findings.Critical
	}
	return findings.Finding{Tool: "infracost", RuleID: rule, Severity: sev, Message: reason}
}

// Evaluate compares a report with a budget; a zero bound is no bound. A cost decrease
// never fails the delta bound. Budgets are USD per month, and Infracost converts at its
// own rates, so a report in another currency is not evaluated against a bound: comparing
// 665 JPY with a budget of 500 would block for the wrong reason, and a rate of our own
// would be a second, silent estimate. With no bound it is shown as is.
func Evaluate(r Report, b environment.Budget, top int) Result {
	if !isUSD(r.Currency) && (b.MonthlyTotal > 0 || b.MonthlyDelta > 0) {
		return NotEvaluatedResult(fmt.Sprintf("infracost reported costs in %s, but budgets in pipeline.yaml are USD per month: "+
			"run Infracost with currency USD (INFRACOST_CURRENCY=USD, or `infracost configure set currency USD`)", r.Currency), b)
	}
	res := Result{Status: WithinBudget, Budget: b, Report: r, Top: r.Changes}
	if top >= 0 && len(res.Top) > top {
		res.Top = res.Top[:top]
	}
	for _, o := range overruns(r, b) {
		res.Status = OverBudget
		res.Reasons = append(res.Reasons, o.reason)
	}
	return res
}

// isUSD reports whether a report's currency is the budgets' one; empty is Infracost's
// default, USD, as money shows it.
func isUSD(currency string) bool {
	return currency == "" || strings.EqualFold(currency, "USD")
}

// overrun is one bound of a budget that a report exceeds.
type overrun struct{ rule, reason string }

// overruns lists the bounds r exceeds, total first; a zero bound is no bound, and a cost
// decrease never exceeds the delta bound. Evaluate's reasons and Result.Findings both come
// from here, so they stay in step.
func overruns(r Report, b environment.Budget) []overrun {
	var out []overrun
	if b.MonthlyTotal > 0 && r.TotalMonthly > b.MonthlyTotal {
		out = append(out, overrun{RuleMonthlyTotal, fmt.Sprintf("monthly total %s exceeds the budget of %s",
			money(r.TotalMonthly, r.Currency), money(b.MonthlyTotal, "USD"))})
	}
	if b.MonthlyDelta > 0 && r.DeltaMonthly > b.MonthlyDelta {
		out = append(out, overrun{RuleMonthlyDelta, fmt.Sprintf("monthly increase %s exceeds the budget of %s",
			money(r.DeltaMonthly, r.Currency), money(b.MonthlyDelta, "USD"))})
	}
	return out
}

// NotEvaluatedResult is the result when no estimate could be made. reason says why
// ("no INFRACOST_API_KEY secret was given").
func NotEvaluatedResult(reason string, b environment.Budget) Result {
	return Result{Status: NotEvaluated, Budget: b, Reasons: []string{reason}}
}

func money(v float64, currency string) string {
	if currency == "" {
		currency = "USD"
	}
	return fmt.Sprintf("%.2f %s", v, currency)
}

func signed(v float64, currency string) string {
	if v > 0 {
		return "+" + money(v, currency)
	}
	return money(v, currency)
}

// Markdown renders the cost section of the run summary.
func (r Result) Markdown() string {
	var b strings.Builder
	b.WriteString("## Cost\n\n")
	cur := r.Report.Currency
	switch r.Status {
	case NotEvaluated:
		verdict := "skipped"
		if r.Blocking() {
			verdict = "**blocking**: this environment requires a cost estimate"
		}
		fmt.Fprintf(&b, "Cost not evaluated (%s): %s.\n\n", strings.Join(r.Reasons, "; "), verdict)
		return b.String()
	case OverBudget:
		fmt.Fprintf(&b, "**Over budget**: %s.\n\n", strings.Join(r.Reasons, "; "))
	default:
		b.WriteString("**Within budget**.\n\n")
	}
	fmt.Fprintf(&b, "| | Monthly | Budget |\n|---|---:|---:|\n")
	fmt.Fprintf(&b, "| Total | %s | %s |\n", money(r.Report.TotalMonthly, cur), bound(r.Budget.MonthlyTotal))
	fmt.Fprintf(&b, "| Change | %s | %s |\n\n", signed(r.Report.DeltaMonthly, cur), bound(r.Budget.MonthlyDelta))
	if len(r.Top) > 0 {
		b.WriteString("| Resource | Before | After | Change |\n|---|---:|---:|---:|\n")
		for _, c := range r.Top {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", markdown.Text(c.Resource),
				money(c.Before, cur), money(c.After, cur), signed(c.Delta, cur))
		}
		if n := len(r.Report.Changes) - len(r.Top); n > 0 {
			fmt.Fprintf(&b, "\n…and %d smaller changes.\n", n)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// bound shows a budget bound, which pipeline.yaml gives in USD whatever the report's currency.
func bound(v float64) string {
	if v <= 0 {
		return "none"
	}
	return money(v, "USD")
}
