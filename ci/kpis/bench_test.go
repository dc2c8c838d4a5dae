package kpis

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/runs"
	"github.com/infrapipe/infrapipe/ci/state"
)

const (
	benchRuns = 10_000
	benchDays = 100 // 100 runs a day
)

var (
	benchOnce   sync.Once
	benchClient *s3.Client
	benchErr    error
	benchEnd    = time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
)

const benchBucket = "infrapipe-terraform-state"

// benchHistory writes 10,000 records of prod, 100 a day over 100 days, to a moto bucket
// once for every benchmark of the package.
func benchHistory(b *testing.B) *s3.Client {
	b.Helper()
	benchOnce.Do(func() {
		moto := mototest.Start(&testing.T{}) // lives as long as the test binary
		for _, kv := range moto.Env() {
			k, v, _ := strings.Cut(kv, "=")
			b.Setenv(k, v)
		}
		ctx := context.Background()
		if benchClient, benchErr = state.NewS3Client(ctx, "us-east-1", moto.URL); benchErr != nil {
			return
		}
		if _, benchErr = benchClient.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(benchBucket)}); benchErr != nil {
			return
		}
		g := new(errgroup.Group)
		g.SetLimit(runs.Parallel)
		start := benchEnd.AddDate(0, 0, -benchDays)
		for i := range benchRuns {
			g.Go(func() error {
				s := start.Add(time.Duration(i) * (benchDays * 24 * time.Hour / benchRuns))
				verdict := gate.Pass
				if i%50 == 49 {
					verdict = gate.Block
				}
				r := run(environment.Prod, runs.KindPipeline, i, s, 9*time.Minute, verdict)
				r.Cost = &runs.Cost{Currency: "USD", Monthly: 730}
				r.Findings = []runs.FindingCount{{Tool: "checkov", Severity: "HIGH", Count: 3}}
				if w := runs.Write(ctx, benchClient, benchBucket, runs.Prefix("terraform"), r, runs.WriteTimeout); w.Warning != "" {
					return fmt.Errorf("%s", w.Warning)
				}
				return nil
			})
		}
		benchErr = g.Wait()
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchClient
}

// benchKPIs reads the period's records from moto and computes and renders every KPI.
func benchKPIs(b *testing.B, days, wantRuns int) {
	client := benchHistory(b)
	ctx := context.Background()
	from := benchEnd.AddDate(0, 0, -days)
	b.ResetTimer()
	for b.Loop() {
		h, err := runs.Index(ctx, client, benchBucket, runs.Prefix("terraform"), environment.Prod, from, benchEnd)
		if err != nil {
			b.Fatal(err)
		}
		if len(h.Records) != wantRuns {
			b.Fatalf("read %d records, want %d", len(h.Records), wantRuns)
		}
		r := Compute(from, benchEnd, []Input{{History: h, Targets: environment.DefaultTargets}})
		if v := r.Envs[0].KPIs[0].Value; v == nil || *v != 98 {
			b.Fatalf("success rate %v, want 98", v)
		}
		if _, err := r.JSON(); err != nil {
			b.Fatal(err)
		}
		_ = r.Markdown()
	}
}

// BenchmarkKPIs10000Runs: every KPI over the whole history of 10,000 runs on moto.
func BenchmarkKPIs10000Runs(b *testing.B) { benchKPIs(b, benchDays, benchRuns) }

// BenchmarkKPIsWeekOf10000Runs: a week of the same history; the day folders keep the cost
// to the week's 700 records.
func BenchmarkKPIsWeekOf10000Runs(b *testing.B) { benchKPIs(b, 7, 700) }
