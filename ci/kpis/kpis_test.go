package kpis

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/runs"
)

var (
	from = time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)
	to   = from.AddDate(0, 0, 30)
)

// run is a generated record: kind, start, duration and verdict, with the steps a pipeline
// of that kind has.
func run(env environment.Name, kind runs.Kind, n int, start time.Time, took time.Duration, verdict gate.Verdict) runs.Record {
	r := runs.Record{
		SchemaVersion: runs.SchemaVersion, ID: runs.NewID(start, fmt.Sprintf("g%05d", n)), Kind: kind, Env: env,
		Started: start, Ended: start.Add(took), Verdict: verdict, Applied: verdict != gate.Block,
		Steps: []runs.Step{
			{Name: string(pipeline.StepSecurityScan), Verdict: gate.Pass},
			{Name: string(pipeline.StepCompliance), Verdict: gate.Pass},
			{Name: string(pipeline.StepPlan), Verdict: verdict},
		},
	}
	r.Stored = r.Ended.Add(time.Second) // the bucket receives the record as the run ends
	return r
}

// history is 30 days of prod with known answers:
//   - 300 deployments, one every 2 hours from 01:00; every 10th (i%10 == 9) blocks after 3
//     minutes, the others pass after 12 minutes: success rate 270/300 = 90%, mean time to
//     deploy 12 min;
//   - each failure is followed 2 h later by a success: recovery from the failure's end
//     (start+3m) to the success's end (start+2h+12m) is 129 min; the last deployment (299,
//     on day 25) fails, so 29 recoveries and failing since its end;
//   - 100 dry-run pipelines (pull requests) at :30 every 7 hours, 2 of which block in the
//     security scan: scan pass rate 398/400 = 99.5%; compliance never blocks: 100%;
//   - the latest scanned run holds 2 critical checkov findings (1 more suppressed);
//   - successful deployments estimate 730 USD a month (24 a day) in the first half and
//     1460 in the second.
func history() []runs.Record {
	var rs []runs.Record
	start := from.Add(time.Hour)
	for i := range 300 {
		s := start.Add(time.Duration(i) * 2 * time.Hour)
		r := run(environment.Prod, runs.KindPipeline, i, s, 12*time.Minute, gate.Pass)
		if i%10 == 9 {
			r = run(environment.Prod, runs.KindPipeline, i, s, 3*time.Minute, gate.Block)
		} else {
			r.Cost = &runs.Cost{Currency: "USD", Monthly: 730}
			if s.After(from.AddDate(0, 0, 15)) {
				r.Cost.Monthly = 1460
			}
		}
		if i%3 == 1 {
			r.Kind = runs.KindApply // applies count as deployments too
		}
		rs = append(rs, r)
	}
	for i := range 100 {
		s := from.Add(30*time.Minute + time.Duration(i)*7*time.Hour)
		r := run(environment.Prod, runs.KindPipeline, 1000+i, s, 5*time.Minute, gate.Pass)
		r.DryRun, r.Applied = true, false
		if i == 10 || i == 20 {
			r.Verdict, r.Steps[0].Verdict = gate.Block, gate.Block
		}
		rs = append(rs, r)
	}
	runs.Sort(rs)
	last := &rs[len(rs)-1]
	last.Findings = []runs.FindingCount{{Tool: "checkov", Severity: "CRITICAL", Count: 2, Suppressed: 1}, {Tool: "trivy", Severity: "HIGH", Count: 5}}
	return rs
}

func kpi(t *testing.T, e Env, key string) KPI {
	t.Helper()
	for _, k := range e.KPIs {
		if k.Key == key {
			return k
		}
	}
	t.Fatalf("no KPI %s in %+v", key, e.KPIs)
	return KPI{}
}

func value(t *testing.T, k KPI) float64 {
	t.Helper()
	if k.Value == nil {
		t.Fatalf("%s has no value: %s", k.Key, k.Note)
	}
	return *k.Value
}

func met(k KPI) string {
	if k.Met == nil {
		return "n/a"
	}
	return fmt.Sprint(*k.Met)
}

func TestComputeKnownHistory(t *testing.T) {
	rs := history()
	billed := &Billed{Currency: "USD", Days: map[time.Time]float64{}}
	for d := from; d.Before(to); d = d.Add(24 * time.Hour) {
		billed.Days[d] = 24 * 1.1 // 10% over the first half's estimate
		if !d.Before(from.AddDate(0, 0, 16)) {
			billed.Days[d] = 48 * 1.05
		}
	}
	r := Compute(from, to, []Input{{History: runs.History{Env: environment.Prod, Records: rs}, Targets: environment.DefaultTargets, Billed: billed}})
	e := r.Envs[0]
	if e.Runs != 400 || e.Deployments != 300 {
		t.Errorf("runs %d, deployments %d; want 400, 300", e.Runs, e.Deployments)
	}
	for _, tt := range []struct {
		key     string
		want    float64
		samples int
		met     string
	}{
		{SuccessRate, 90, 300, "false"},
		{DeployTime, 12, 270, "true"},
		{RecoveryTime, 129, 29, "false"},
		{ScanPassRate, 99.5, 400, "false"},
		{CompliancePassRate, 100, 400, "true"},
		{CriticalFindings, 2, 1, "false"},
		{CostEstimate, 1460, 270, "n/a"},
	} {
		k := kpi(t, e, tt.key)
		if got := value(t, k); got != tt.want || k.Samples != tt.samples || met(k) != tt.met {
			t.Errorf("%s = %v over %d (met %s); want %v over %d (met %s)", tt.key, got, k.Samples, met(k), tt.want, tt.samples, tt.met)
		}
	}
	if e.Open == nil || !e.Open.Equal(from.Add(time.Hour+299*2*time.Hour+3*time.Minute+time.Second)) {
		t.Errorf("failing since %v, want the end of deployment 299", e.Open)
	}
	// The estimate doubles at day 15 (the first success after it ends on day 15), the bill
	// on day 16: day 15 is billed 26.4 against 48 estimated.
	v := kpi(t, e, CostVariance)
	wantVar := 100 * ((15*26.4 + 26.4 + 14*50.4) - (15*24 + 48 + 14*48)) / (15*24 + 48 + 14*48)
	if got := value(t, v); got != round(wantVar) || v.Samples != 30 {
		t.Errorf("cost variance %v over %d days, want %v over 30 (%s)", got, v.Samples, round(wantVar), v.Note)
	}
	if v.First == nil || *v.First != 10 || v.Second == nil || *v.Second >= 10 {
		t.Errorf("variance halves %v → %v, want 10 → under 10", deref(v.First), deref(v.Second))
	}
	// Trends: the estimate doubles, the success rate holds at 90% in each half.
	if k := kpi(t, e, CostEstimate); deref(k.First) != 730.0 || deref(k.Second) != 1460.0 {
		t.Errorf("cost trend %v → %v", deref(k.First), deref(k.Second))
	}
	if k := kpi(t, e, SuccessRate); deref(k.First) != 90.0 || deref(k.Second) != 90.0 {
		t.Errorf("success trend %v → %v", deref(k.First), deref(k.Second))
	}
	if r.Slice != "week" || len(e.Trends[SuccessRate]) != 4 || len(e.Trends[CriticalFindings]) != 5 {
		t.Errorf("slice %s, trends %v", r.Slice, e.Trends)
	}

	if day := Compute(r.To.Add(-24*time.Hour), r.To, nil).Markdown(); !strings.Contains(day, "(1 day)") {
		t.Errorf("a one-day period:\n%.120s", day)
	}
	md := r.Markdown()
	for _, want := range []string{
		"# Deployment KPIs", "2026-11-05 to 2026-12-05 (30 days)", "## prod", "400 runs, 300 of them deployments.",
		"| Deployment success rate | **90%** | > 99% | ❌ | → 90% → 90% | 300 |",
		"| Mean time to deploy | **12 min** | < 15 min | ✅ |",
		"| Mean time to recovery | **129 min** | < 30 min | ❌ |",
		"| Estimated monthly cost (latest deployed) | **1460.00 USD** |  |  | ↑ 730.00 USD → 1460.00 USD |",
		"Failing since 2026-11-29T23:03:01Z",
		"```mermaid\nxychart-beta\n    title \"Deployment success rate by week\"",
		"## How each KPI is computed",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	files, err := r.Files("\nfooter\n")
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if len(files) != 4 || files[0] != "kpis.md" || files[1] != md+"\nfooter\n" || files[2] != "kpis.json" ||
		json.Unmarshal([]byte(files[3]), &back) != nil || len(back.Envs) != len(r.Envs) {
		t.Errorf("Files() = %q", files)
	}
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

// The edge cases say what they are instead of printing a misleading number.
func TestComputeEdgeCases(t *testing.T) {
	only := func(n int, verdict gate.Verdict) []runs.Record {
		var rs []runs.Record
		for i := range n {
			rs = append(rs, run(environment.Staging, runs.KindPipeline, i, from.Add(time.Duration(i)*time.Hour), 10*time.Minute, verdict))
		}
		return rs
	}
	t.Run("no runs", func(t *testing.T) {
		r := Compute(from, to, []Input{{History: runs.History{Env: environment.Staging}, Targets: environment.DefaultTargets}})
		for _, k := range r.Envs[0].KPIs {
			if k.Value != nil || k.Met != nil || k.Note == "" {
				t.Errorf("%s: %v (met %s), note %q; want no figure and a note", k.Key, deref(k.Value), met(k), k.Note)
			}
		}
		if md := r.Markdown(); !strings.Contains(md, "## staging\n\nNo run records in the period") {
			t.Errorf("Markdown:\n%s", md)
		}
	})
	t.Run("only failures", func(t *testing.T) {
		e := Compute(from, to, []Input{{History: runs.History{Env: environment.Staging, Records: only(8, gate.Block)}, Targets: environment.DefaultTargets}}).Envs[0]
		if v := value(t, kpi(t, e, SuccessRate)); v != 0 {
			t.Errorf("success rate %v", v)
		}
		if k := kpi(t, e, DeployTime); k.Value != nil || k.Note != "no successful deployments in the period" {
			t.Errorf("deploy time %v %q", deref(k.Value), k.Note)
		}
		if k := kpi(t, e, RecoveryTime); k.Value != nil || k.Note != "no recovery yet: failing since 2026-11-05T00:10:01Z" {
			t.Errorf("recovery %v %q", deref(k.Value), k.Note)
		}
	})
	t.Run("too few runs", func(t *testing.T) {
		e := Compute(from, to, []Input{{History: runs.History{Env: environment.Staging, Records: only(2, gate.Pass)}, Targets: environment.DefaultTargets}}).Envs[0]
		for key, note := range map[string]string{
			SuccessRate:  "too few deployments for a figure (2; it takes 5)",
			DeployTime:   "too few successful deployments for a figure (2; it takes 3)",
			RecoveryTime: "no failed deployment in the period: nothing to recover from",
			ScanPassRate: "too few runs with a security scan for a figure (2; it takes 5)",
			CostVariance: "the bill was not read (--billing reads it from Cost Explorer)",
		} {
			if k := kpi(t, e, key); k.Value != nil || k.Note != note {
				t.Errorf("%s = %v, note %q; want %q", key, deref(k.Value), k.Note, note)
			}
		}
	})
	t.Run("clock skew between runners", func(t *testing.T) {
		// Runner B's clock is 20 minutes fast. It fails at 10:00–10:05 (it records
		// 10:20–10:25); runner A succeeds at 10:10–10:15. By the runners' clocks the success
		// came first and nothing recovered; by the bucket's it took 10 minutes.
		at := from.Add(10 * time.Hour)
		fail := run(environment.Prod, runs.KindPipeline, 1, at.Add(20*time.Minute), 5*time.Minute, gate.Block)
		fail.Stored = at.Add(5 * time.Minute)
		ok := run(environment.Prod, runs.KindApply, 2, at.Add(10*time.Minute), 5*time.Minute, gate.Pass)
		ok.Stored = at.Add(15 * time.Minute)
		e := Compute(from, to, []Input{{History: runs.History{Env: environment.Prod, Records: []runs.Record{ok, fail}}, Targets: environment.DefaultTargets}}).Envs[0]
		if v := value(t, kpi(t, e, RecoveryTime)); v != 10 || e.Open != nil {
			t.Errorf("recovery %v min, open %v; want 10 and none", v, e.Open)
		}
		// Without the bucket's clock (a record copied between buckets: its time is hours
		// off), the runners' clocks order the runs and the failure looks unrecovered.
		fail.Stored, ok.Stored = fail.Stored.Add(48*time.Hour), ok.Stored.Add(48*time.Hour)
		e = Compute(from, to, []Input{{History: runs.History{Env: environment.Prod, Records: []runs.Record{ok, fail}}, Targets: environment.DefaultTargets}}).Envs[0]
		if k := kpi(t, e, RecoveryTime); k.Value != nil || e.Open == nil || !e.Open.Equal(fail.Ended) {
			t.Errorf("recovery %v, open %v; want none and failing since %s", deref(k.Value), e.Open, fail.Ended)
		}
	})
	t.Run("records of a newer schema", func(t *testing.T) {
		r := Compute(from, to, []Input{{History: runs.History{Env: environment.Test, Records: only(6, gate.Pass), Newer: 3, Invalid: []string{"runs/x.json"}}, Targets: environment.DefaultTargets}})
		e := r.Envs[0]
		if e.Newer != 3 || e.Invalid != 1 || value(t, kpi(t, e, SuccessRate)) != 100 {
			t.Errorf("env %+v", e)
		}
		md := r.Markdown()
		for _, want := range []string{"3 record(s) come from a newer infrapipe", "1 object(s) under runs/ are not valid run records"} {
			if !strings.Contains(md, want) {
				t.Errorf("Markdown lacks %q", want)
			}
		}
	})
	t.Run("records that cannot be read", func(t *testing.T) {
		r := Compute(from, to, []Input{{History: runs.History{Env: environment.Preview}, Unread: "list run records s3://b/runs/: AccessDenied"}})
		if e := r.Envs[0]; e.Unread == "" || len(e.KPIs) != 0 {
			t.Errorf("env %+v", e)
		}
		if md := r.Markdown(); !strings.Contains(md, "## preview\n\nThe run records could not be read, so there are no KPIs:\n\n```\nlist run records s3://b/runs/: AccessDenied\n```") {
			t.Errorf("Markdown:\n%s", md)
		}
	})
	t.Run("targets from pipeline.yaml", func(t *testing.T) {
		targets := environment.DefaultTargets
		targets.SuccessRate, targets.DeployTime = 50, 5*time.Minute
		e := Compute(from, to, []Input{{History: runs.History{Env: environment.Test, Records: only(6, gate.Pass)}, Targets: targets}}).Envs[0]
		if k := kpi(t, e, SuccessRate); met(k) != "true" || k.Target != "> 50%" {
			t.Errorf("success %+v", k)
		}
		if k := kpi(t, e, DeployTime); met(k) != "false" || k.Target != "< 5 min" {
			t.Errorf("deploy time %s, target %s", met(k), k.Target)
		}
	})
}

// The index keeps the verdicts of the steps the pipeline names so.
func TestStepNames(t *testing.T) {
	for _, s := range [][2]string{{runs.StepLint, string(pipeline.StepLint)}, {runs.StepSecurityScan, string(pipeline.StepSecurityScan)}, {runs.StepCompliance, string(pipeline.StepCompliance)}} {
		if s[0] != s[1] {
			t.Errorf("runs names a step %q, the pipeline %q", s[0], s[1])
		}
	}
}

func TestParseSince(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "72h": 72 * time.Hour, "1h": time.Hour, "366d": MaxPeriod} {
		if got, err := ParseSince(in); err != nil || got != want {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "30", "0d", "367d", "-1h", "30m", "1y", "30d\n::error::x", "99999d"} {
		if _, err := ParseSince(in); err == nil || !strings.Contains(err.Error(), "--since") || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseSince(%q) = %v, want a one-line error naming --since", in, err)
		}
	}
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"30d", "2w", "72h", "1h30m", "0d", "9999w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseSince(s)
		if err != nil {
			return
		}
		if d < time.Hour || d > MaxPeriod {
			t.Fatalf("ParseSince(%q) = %v, out of range", s, d)
		}
	})
}
