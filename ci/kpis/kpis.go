// Package kpis computes the deployment KPIs teams review from the run records of ci/runs:
// deployment success rate, mean time to deploy, mean time to recovery, security scan and
// compliance pass rates, critical findings, cost per environment over time and the
// variance between Infracost's estimates and what AWS billed. Each is judged against the
// environment's targets (pipeline.yaml's kpis), with its trend over the period, and says
// so instead of printing a number when the period holds too few runs for one.
package kpis

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
	"github.com/infrapipe/infrapipe/ci/runs"
)

// Minimum samples before a figure is given: a rate of two runs says nothing.
const (
	MinRate = 5 // runs behind a success or pass rate
	MinMean = 3 // runs behind a mean duration
)

// MaxSkew is how far a record's bucket time may be from its runner's end time and still be
// trusted to order runs; beyond it (a record copied between buckets) the runner's clock is
// used.
const MaxSkew = time.Hour

// MaxPeriod bounds --since: a year of day folders.
const MaxPeriod = 366 * 24 * time.Hour

var sinceRE = regexp.MustCompile(`^([0-9]{1,4})([dw])$`)

// ParseSince reads a period such as 30d, 2w or 72h: from 1h to 366d.
func ParseSince(s string) (time.Duration, error) {
	var d time.Duration
	if m := sinceRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		d = time.Duration(n) * 24 * time.Hour
		if m[2] == "w" {
			d *= 7
		}
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			d = -1
		}
	}
	if d < time.Hour || d > MaxPeriod {
		return 0, fmt.Errorf("--since %s is not a period: give days (30d), weeks (2w) or hours (72h), from 1h to 366d", untrusted.Quote(s))
	}
	return d, nil
}

// KPI names, the keys of kpis.json.
const (
	SuccessRate        = "success_rate"
	DeployTime         = "deploy_time"
	RecoveryTime       = "recovery_time"
	ScanPassRate       = "scan_pass_rate"
	CompliancePassRate = "compliance_pass_rate"
	CriticalFindings   = "critical_findings"
	CostEstimate       = "cost_estimate"
	CostVariance       = "cost_variance"
)

// KPI is one figure of one environment. Value is nil when the period cannot give it, and
// Note says why; Met is nil when there is no value or no target.
type KPI struct {
	Key     string   `json:"key"`
	Name    string   `json:"name"`
	Value   *float64 `json:"value"`
	Unit    string   `json:"unit"` // "%", "min", "count", or a currency
	Target  string   `json:"target,omitempty"`
	Met     *bool    `json:"met"`
	Samples int      `json:"samples"` // the runs (or days) behind the figure
	Note    string   `json:"note,omitempty"`
	// First and Second are the figure over each half of the period: the trend.
	First  *float64 `json:"first_half"`
	Second *float64 `json:"second_half"`
}

// Point is one slice of the period in a trend chart.
type Point struct {
	Start time.Time `json:"start"`
	Value float64   `json:"value"`
}

// Env is one environment's KPIs over the period.
type Env struct {
	Env     environment.Name    `json:"env"`
	Targets environment.Targets `json:"targets"`
	Runs    int                 `json:"runs"`
	// Deployments are the runs that deploy: pipeline and import runs that were not dry
	// runs, and apply runs.
	Deployments int `json:"deployments"`
	// Newer and Invalid are records skipped: of a newer schema, or not valid.
	Newer   int   `json:"newer_schema_skipped"`
	Invalid int   `json:"invalid_skipped"`
	KPIs    []KPI `json:"kpis"`
	// Trends are per slice of the period (days, weeks or months), by KPI key.
	Trends map[string][]Point `json:"trends"`
	// Open is a failure not yet recovered at the end of the period, if any.
	Open *time.Time `json:"failing_since,omitempty"`
	// Unread says why the records could not be read; then there are no KPIs.
	Unread string `json:"unread,omitempty"`
}

// Report is kpis.json.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Generated     time.Time `json:"generated"`
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	Slice         string    `json:"slice"` // day, week or month: a trend point's width
	Envs          []Env     `json:"environments"`
}

// ReportSchemaVersion is kpis.json's format version.
const ReportSchemaVersion = 1

// Input is one environment's records for the period and what to judge them by.
type Input struct {
	History runs.History
	Targets environment.Targets
	// Billed is AWS's actual daily cost of the environment (Cost Explorer), or nil when it
	// was not read.
	Billed *Billed
	// Unread says why the records could not be read; the report says so for the
	// environment instead of reporting an empty history.
	Unread string
}

// Compute is the report over [from, to) of every input, in the inputs' order.
func Compute(from, to time.Time, in []Input) Report {
	from, to = from.UTC(), to.UTC()
	r := Report{SchemaVersion: ReportSchemaVersion, Generated: to, From: from, To: to, Slice: sliceName(to.Sub(from))}
	for _, i := range in {
		r.Envs = append(r.Envs, computeEnv(from, to, i))
	}
	return r
}

func computeEnv(from, to time.Time, in Input) Env {
	h := in.History
	t := in.Targets
	e := Env{Env: h.Env, Targets: t, Runs: len(h.Records), Newer: h.Newer, Invalid: len(h.Invalid), Trends: map[string][]Point{}}
	if in.Unread != "" {
		e.Unread = in.Unread
		return e
	}
	deps := deployments(h.Records)
	e.Deployments = len(deps)
	// Records are ordered by start: each part of the period is a subslice, never a copy.
	rs := h.Records
	if !sort.SliceIsSorted(rs, func(i, j int) bool { return rs[i].Started.Before(rs[j].Started) }) {
		rs = append([]runs.Record(nil), rs...)
		runs.Sort(rs)
	}
	part := func(a, b time.Time) []runs.Record {
		i := sort.Search(len(rs), func(i int) bool { return !rs[i].Started.Before(a) })
		j := sort.Search(len(rs), func(i int) bool { return !rs[i].Started.Before(b) })
		return rs[i:j]
	}
	mid := from.Add(to.Sub(from) / 2)
	firstHalf, secondHalf := part(time.Time{}, mid), part(mid, to.Add(MaxPeriod))
	halves := func(f func([]runs.Record) (*float64, int)) (*float64, *float64) {
		first, _ := f(firstHalf)
		second, _ := f(secondHalf)
		return first, second
	}
	starts := slicesOf(from, to)
	parts := make([][]runs.Record, len(starts))
	for i, start := range starts {
		end := to.Add(MaxPeriod) // the last slice keeps records of a runner whose clock runs ahead
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		if i == 0 {
			start = time.Time{}
		}
		parts[i] = part(start, end)
	}
	trend := func(key string, f func([]runs.Record) (*float64, int)) {
		for i, start := range starts {
			if v, _ := f(parts[i]); v != nil {
				e.Trends[key] = append(e.Trends[key], Point{Start: start, Value: round(*v)})
			}
		}
	}
	kpi := func(key, name, unit, target string, f func([]runs.Record) (*float64, int), met func(float64) bool, short string) {
		k := KPI{Key: key, Name: name, Unit: unit, Target: target}
		var v *float64
		v, k.Samples = f(h.Records)
		if v != nil {
			k.Value = ptr(round(*v))
			if met != nil {
				k.Met = ptr(met(*v))
			}
		} else {
			k.Note = short
		}
		k.First, k.Second = halves(f)
		roundPtr(k.First)
		roundPtr(k.Second)
		trend(key, f)
		e.KPIs = append(e.KPIs, k)
	}

	success := func(rs []runs.Record) (*float64, int) {
		d := deployments(rs)
		if len(d) < MinRate {
			return nil, len(d)
		}
		ok := 0
		for _, r := range d {
			if r.Succeeded() {
				ok++
			}
		}
		return ptr(100 * float64(ok) / float64(len(d))), len(d)
	}
	kpi(SuccessRate, "Deployment success rate", "%", fmt.Sprintf("> %s%%", num(t.SuccessRate)), success,
		func(v float64) bool { return v > t.SuccessRate || t.SuccessRate == 100 && v == 100 },
		tooFew(len(deps), MinRate, "deployments"))

	deployTime := func(rs []runs.Record) (*float64, int) {
		var sum time.Duration
		n := 0
		for _, r := range deployments(rs) {
			if r.Succeeded() && r.Duration() >= 0 {
				sum += r.Duration()
				n++
			}
		}
		if n < MinMean {
			return nil, n
		}
		return ptr((sum / time.Duration(n)).Minutes()), n
	}
	_, okDeps := deployTime(h.Records)
	kpi(DeployTime, "Mean time to deploy", "min", fmt.Sprintf("< %s min", num(t.DeployTime.Minutes())), deployTime,
		func(v float64) bool { return v < t.DeployTime.Minutes() },
		tooFew(okDeps, MinMean, "successful deployments"))

	rec := recoveries(deps)
	e.Open = rec.open
	recovery := func(rs []runs.Record) (*float64, int) {
		r := recoveries(deployments(rs))
		if len(r.times) == 0 {
			return nil, 0
		}
		var sum time.Duration
		for _, d := range r.times {
			sum += d
		}
		return ptr((sum / time.Duration(len(r.times))).Minutes()), len(r.times)
	}
	recNote := "no failed deployment in the period: nothing to recover from"
	switch {
	case rec.open != nil && len(rec.times) == 0:
		recNote = fmt.Sprintf("no recovery yet: failing since %s", rec.open.Format(time.RFC3339))
	case len(deps) == 0:
		recNote = "no deployments in the period"
	}
	kpi(RecoveryTime, "Mean time to recovery", "min", fmt.Sprintf("< %s min", num(t.RecoveryTime.Minutes())), recovery,
		func(v float64) bool { return v < t.RecoveryTime.Minutes() }, recNote)

	passRate := func(step string) func([]runs.Record) (*float64, int) {
		return func(rs []runs.Record) (*float64, int) {
			n, ok := 0, 0
			for _, r := range rs {
				if s, has := r.Step(step); has {
					n++
					if s.Verdict != "block" {
						ok++
					}
				}
			}
			if n < MinRate {
				return nil, n
			}
			return ptr(100 * float64(ok) / float64(n)), n
		}
	}
	_, scans := passRate(runs.StepSecurityScan)(h.Records)
	kpi(ScanPassRate, "Security scan pass rate", "%", fmt.Sprintf("≥ %s%%", num(t.ScanPassRate)), passRate(runs.StepSecurityScan),
		func(v float64) bool { return v >= t.ScanPassRate }, tooFew(scans, MinRate, "runs with a security scan"))
	_, comps := passRate(runs.StepCompliance)(h.Records)
	kpi(CompliancePassRate, "Compliance pass rate", "%", fmt.Sprintf("≥ %s%%", num(t.CompliancePassRate)), passRate(runs.StepCompliance),
		func(v float64) bool { return v >= t.CompliancePassRate }, tooFew(comps, MinRate, "runs with a compliance check"))

	critical := func(rs []runs.Record) (*float64, int) {
		for i := len(rs) - 1; i >= 0; i-- {
			if rs[i].Scanned() {
				return ptr(float64(rs[i].Critical())), 1
			}
		}
		return nil, 0
	}
	kpi(CriticalFindings, "Critical findings (latest scanned run)", "count", fmt.Sprintf("≤ %d", t.CriticalFindings), critical,
		func(v float64) bool { return v <= float64(t.CriticalFindings) }, "no run scanned anything in the period")

	estimate := func(rs []runs.Record) (*float64, int) {
		est := estimates(rs)
		if len(est) == 0 {
			return nil, 0
		}
		return ptr(est[len(est)-1].Cost.Monthly), len(est)
	}
	currency := "USD"
	if est := estimates(h.Records); len(est) > 0 {
		currency = est[len(est)-1].Cost.Currency
	}
	kpi(CostEstimate, "Estimated monthly cost (latest deployed)", currency, "", estimate, nil, "no deployment with a cost estimate in the period")

	e.KPIs = append(e.KPIs, variance(h.Records, in.Billed, t.CostVariance, from, to))
	return e
}

// deployments are the runs that change an environment: pipeline and import runs that were
// not dry runs, and applies.
func deployments(rs []runs.Record) []*runs.Record {
	var out []*runs.Record
	for i := range rs {
		r := &rs[i]
		switch {
		case r.Kind == runs.KindApply, (r.Kind == runs.KindPipeline || r.Kind == runs.KindImport) && !r.DryRun:
			out = append(out, r)
		}
	}
	return out
}

// estimates are the runs whose estimate describes what was deployed: successful
// deployments with a cost estimate.
func estimates(rs []runs.Record) []*runs.Record {
	var out []*runs.Record
	for _, r := range deployments(rs) {
		if r.Succeeded() && r.Cost != nil {
			out = append(out, r)
		}
	}
	return out
}

// at is when a run ended on the one clock that orders runs: the bucket's, unless it is
// further than MaxSkew from the runner's.
func at(r *runs.Record) time.Time {
	if !r.Stored.IsZero() && absDuration(r.Stored.Sub(r.Ended)) <= MaxSkew {
		return r.Stored
	}
	return r.Ended
}

type recovered struct {
	times []time.Duration
	open  *time.Time
}

// recoveries are the times from the first failed (or blocked) deployment of a streak to
// the end of the next successful one, in the order the runs ended.
func recoveries(deps []*runs.Record) recovered {
	ordered := append([]*runs.Record(nil), deps...)
	sortByAt(ordered)
	var r recovered
	var since *time.Time
	for _, d := range ordered {
		end := at(d)
		switch {
		case !d.Succeeded() && since == nil:
			since = &end
		case d.Succeeded() && since != nil:
			r.times = append(r.times, end.Sub(*since))
			since = nil
		}
	}
	r.open = since
	return r
}

func sortByAt(rs []*runs.Record) {
	for i := 1; i < len(rs); i++ { // insertion sort: records arrive nearly ordered
		for j := i; j > 0 && at(rs[j]).Before(at(rs[j-1])); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

func tooFew(n, min int, what string) string {
	if n == 0 {
		return "no " + what + " in the period"
	}
	return fmt.Sprintf("too few %s for a figure (%d; it takes %d)", what, n, min)
}

// sliceName is a trend point's width for a period: days up to two weeks, weeks up to four
// months, months beyond.
func sliceName(period time.Duration) string {
	switch {
	case period <= 14*24*time.Hour:
		return "day"
	case period <= 120*24*time.Hour:
		return "week"
	}
	return "month"
}

// slicesOf are the starts of the period's slices, the first at from.
func slicesOf(from, to time.Time) []time.Time {
	step := 24 * time.Hour
	switch sliceName(to.Sub(from)) {
	case "week":
		step *= 7
	case "month":
		step *= 30
	}
	var out []time.Time
	for s := from; s.Before(to); s = s.Add(step) {
		out = append(out, s)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func round(v float64) float64 { return math.Round(v*100) / 100 }

func roundPtr(v *float64) {
	if v != nil {
		*v = round(*v)
	}
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// num prints a target without trailing zeros: 99, 99.5, 15.
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
