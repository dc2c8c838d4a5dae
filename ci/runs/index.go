package runs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
)

// The steps whose verdicts the index keeps: the ones that report findings.
const (
	StepLint         = "Lint"
	StepSecurityScan = "Security scan"
	StepCompliance   = "Compliance"
)

var indexSteps = []string{StepLint, StepSecurityScan, StepCompliance}

// Scanned reports whether the run had a step that reports findings.
func (r Record) Scanned() bool {
	return slices.ContainsFunc(r.Steps, func(s Step) bool { return slices.Contains(indexSteps, s.Name) })
}

// Critical is the run's unsuppressed CRITICAL findings.
func (r Record) Critical() int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == "CRITICAL" {
			n += f.Count
		}
	}
	return n
}

// The object's name repeats what the KPIs need of a record, after its id:
//
//	<id>_v<schema>_<kind>_<verdict>_<dry|live>_<duration ms>_<lint>_<scan>_<compliance>_<critical>_<cost>.json
//
// with each step's verdict as p, w, b (or n when it did not run), critical as a count (n
// when nothing scanned) and cost as <monthly><currency> (n without an estimate), e.g.
// 20261205T083000Z-9f86d081_v1_pipeline_pass_live_540000_p_p_n_0_730.5USD.json. A listing
// returns a thousand names a call, so the KPIs of a period cost a listing of its day
// folders, not one download per run; the object itself stays the full record.
func summary(r Record) string {
	dry := "live"
	if r.DryRun {
		dry = "dry"
	}
	steps := make([]string, len(indexSteps))
	for i, name := range indexSteps {
		steps[i] = "n"
		if s, ok := r.Step(name); ok {
			steps[i] = string(s.Verdict)[:1]
		}
	}
	critical := "n"
	if r.Scanned() {
		critical = strconv.Itoa(r.Critical())
	}
	cost := "n"
	if c := r.Cost; c != nil && currencyRE.MatchString(c.Currency) && c.Monthly >= 0 && c.Monthly < 1e12 {
		cost = strconv.FormatFloat(c.Monthly, 'f', -1, 64) + c.Currency
	}
	ms := max(r.Ended.Sub(r.Started).Milliseconds(), 0)
	return strings.Join(append([]string{fmt.Sprintf("v%d", SchemaVersion), string(r.Kind), string(r.Verdict), dry, strconv.FormatInt(ms, 10)},
		append(steps, critical, cost)...), "_")
}

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	nameRE     = regexp.MustCompile(`^([0-9]{8}T[0-9]{6}Z-[0-9a-z-]{1,64})_v([0-9]{1,4})_(.*)\.json$`)
	stepCodes  = map[string]gate.Verdict{"p": gate.Pass, "w": gate.Warn, "b": gate.Block}
)

// errNoSummary is a name without a summary: the record must be downloaded.
var errNoSummary = errors.New("no summary in the name")

// FromName is the part of a record its object's name holds (Started and Ended from the id
// and the duration, no reasons, steps limited to lint, scan and compliance, findings to the
// critical count). A name of a newer schema is ErrNewerSchema; one without a summary (a
// record copied in by hand) must be read whole.
func FromName(env environment.Name, name string) (Record, error) {
	m := nameRE.FindStringSubmatch(name)
	if m == nil {
		return Record{}, errNoSummary
	}
	version, _ := strconv.Atoi(m[2])
	if version > SchemaVersion {
		return Record{}, fmt.Errorf("%s: schema_version %d: %w", name, version, ErrNewerSchema)
	}
	f := strings.Split(m[3], "_")
	if version < 1 || len(f) != 9 {
		return Record{}, errNoSummary
	}
	started, err := time.Parse("20060102T150405Z", m[1][:16])
	if err != nil {
		return Record{}, errNoSummary
	}
	ms, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil || ms < 0 || ms > int64(366*24*time.Hour/time.Millisecond) {
		return Record{}, errNoSummary
	}
	r := Record{SchemaVersion: version, ID: m[1], Kind: Kind(f[0]), Env: env, Started: started,
		Ended: started.Add(time.Duration(ms) * time.Millisecond), Verdict: gate.Verdict(f[1]), Steps: []Step{}, Findings: []FindingCount{}}
	switch f[2] {
	case "dry":
		r.DryRun = true
	case "live":
	default:
		return Record{}, errNoSummary
	}
	for i, name := range indexSteps {
		if f[4+i] == "n" {
			continue
		}
		v, ok := stepCodes[f[4+i]]
		if !ok {
			return Record{}, errNoSummary
		}
		r.Steps = append(r.Steps, Step{Name: name, Verdict: v})
	}
	if f[7] != "n" {
		n, err := strconv.Atoi(f[7])
		if err != nil || n < 0 || !r.Scanned() {
			return Record{}, errNoSummary
		}
		if n > 0 {
			r.Findings = append(r.Findings, FindingCount{Severity: "CRITICAL", Count: n})
		}
	} else if r.Scanned() {
		return Record{}, errNoSummary
	}
	if f[8] != "n" {
		cur := f[8][max(len(f[8])-3, 0):]
		v, err := strconv.ParseFloat(strings.TrimSuffix(f[8], cur), 64)
		if err != nil || !currencyRE.MatchString(cur) || v < 0 || v >= 1e12 || math.IsNaN(v) {
			return Record{}, errNoSummary
		}
		r.Cost = &Cost{Currency: cur, Monthly: v}
	}
	if err := r.Check(); err != nil {
		return Record{}, errNoSummary
	}
	return r, nil
}

// Index is Read from the objects' names: it lists the period's day folders and downloads
// only the records whose name holds no summary. What KPIs need, at the cost of a listing.
func Index(ctx context.Context, objs Objects, bucket, prefix string, env environment.Name, from, to time.Time) (History, error) {
	return read(ctx, objs, bucket, prefix, env, from, to, true)
}
