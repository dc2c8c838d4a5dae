package kpis

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/runs"
)

// motoCE is moto with Cost Explorer results queued: each GetCostAndUsage with new
// parameters takes the next one.
func motoCE(t *testing.T, results ...map[string]any) *mototest.Server {
	t.Helper()
	moto := mototest.Start(t)
	moto.Setenv(t)
	body, err := json.Marshal(map[string]any{"results": results})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(moto.URL+"/moto-api/static/ce/cost-and-usage-results", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("queue Cost Explorer results: HTTP %d", resp.StatusCode)
	}
	return moto
}

func day(d time.Time, groups ...map[string]any) map[string]any {
	return map[string]any{
		"TimePeriod": map[string]string{"Start": d.Format(time.DateOnly), "End": d.AddDate(0, 0, 1).Format(time.DateOnly)},
		"Total":      map[string]any{}, "Groups": groups, "Estimated": false,
	}
}

func group(key, amount string) map[string]any {
	return map[string]any{"Keys": []string{key}, "Metrics": map[string]any{"UnblendedCost": map[string]string{"Amount": amount, "Unit": "USD"}}}
}

// The bill is read from Cost Explorer (moto, with results a test sets), grouped by the
// Environment tag over two pages, and compared with the recorded estimates.
func TestCostVarianceAgainstTheBill(t *testing.T) {
	start := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	var page1, page2 []any
	for i := range 4 {
		page1 = append(page1, day(start.AddDate(0, 0, i),
			group("Environment$prod", "26.4"), group("Environment$staging", "2.4"), group("Environment$", "99"), group("Environment$sandbox", "5")))
	}
	for i := 4; i < 7; i++ {
		page2 = append(page2, day(start.AddDate(0, 0, i), group("Environment$prod", "26.4")))
	}
	moto := motoCE(t,
		map[string]any{"ResultsByTime": page1, "NextPageToken": "page-2", "GroupDefinitions": []any{}, "DimensionValueAttributes": []any{}},
		map[string]any{"ResultsByTime": page2, "GroupDefinitions": []any{}, "DimensionValueAttributes": []any{}},
	)
	ctx := context.Background()
	ce, err := NewCostExplorer(ctx, moto.URL)
	if err != nil {
		t.Fatal(err)
	}
	billed, err := ReadBilled(ctx, ce, "Environment", start, start.AddDate(0, 0, 7))
	if err != nil {
		t.Fatal(err)
	}
	if len(billed) != 2 || len(billed[environment.Prod].Days) != 7 || len(billed[environment.Staging].Days) != 4 || billed[environment.Prod].Currency != "USD" {
		t.Fatalf("billed %+v", billed)
	}

	// Prod estimated 730 USD a month (24 a day) from a deployment the day before: the bill
	// is 10% over, which misses a 10% target and meets a 15% one.
	ok := run(environment.Prod, runs.KindApply, 1, start.Add(-time.Hour), 10*time.Minute, gate.Pass)
	ok.Cost = &runs.Cost{Currency: "USD", Monthly: 730}
	h := runs.History{Env: environment.Prod, Records: []runs.Record{ok}}
	for _, tt := range []struct {
		target float64
		met    bool
	}{{10, false}, {15, true}} {
		v := variance(h.Records, billed[environment.Prod], tt.target, start, start.AddDate(0, 0, 7))
		if v.Value == nil || *v.Value != 10 || v.Samples != 7 || *v.Met != tt.met {
			t.Errorf("target %v: variance %v over %d days (met %s, %s); want 10%% over 7 (met %v)", tt.target, deref(v.Value), v.Samples, met(v), v.Note, tt.met)
		}
	}
	// Staging has a bill and no estimate: no figure.
	if v := variance(nil, billed[environment.Staging], 10, start, start.AddDate(0, 0, 7)); v.Value != nil || v.Note != "no deployment with a cost estimate in the period" {
		t.Errorf("staging variance %v %q", deref(v.Value), v.Note)
	}
}

// A Cost Explorer that refuses (here: nothing listens) is an error naming the call.
func TestReadBilledRefused(t *testing.T) {
	moto := mototest.Start(t)
	moto.Setenv(t)
	url := moto.URL
	moto.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ce, err := NewCostExplorer(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadBilled(ctx, ce, "Environment", from, to)
	if err == nil || !strings.Contains(err.Error(), "cost explorer: cost of 2026-11-05 to 2026-12-05 by tag Environment") {
		t.Errorf("ReadBilled = %v", err)
	}
}
