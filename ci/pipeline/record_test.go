package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/runs"
)

// A run record that cannot be written (the bucket refuses it, or the emulator stalls) is a
// warning in result.json within the timeout, never an error: `verdict` reads the same
// verdict, and fails (or passes) the job the same, as without a record.
func TestRecordFailureLeavesTheVerdict(t *testing.T) {
	const bucket = "infrapipe-terraform-state"
	moto := mototest.Start(t)
	client := moto.Bucket(t, bucket)
	ctx := context.Background()
	started := time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, bucket, want string
		stall              bool
	}{
		{"written", bucket, "", false},
		{"the bucket refuses", "no-such-bucket", "NoSuchBucket", false},
		{"the emulator stalls", bucket, "no answer within 2s", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.stall {
				moto.Stall(t)
			}
			for _, verdict := range []gate.Verdict{gate.Pass, gate.Block} {
				res := RunResult{Result: Result{Check: "pipeline", Env: environment.Staging, Verdict: verdict, Reasons: []string{"Plan: blocked"}}}
				without, _ := json.Marshal(res)
				rec := runs.New(runs.Facts{ID: runs.NewID(started, "v"+string(verdict)), Kind: runs.KindPipeline, Env: environment.Staging,
					Started: started, Ended: started.Add(time.Minute), Verdict: verdict, Reasons: res.Reasons})
				begin := time.Now()
				w := runs.Write(ctx, client, tt.bucket, runs.Prefix("terraform"), rec, 2*time.Second)
				if time.Since(begin) > time.Minute {
					t.Fatalf("Write took %s", time.Since(begin))
				}
				res.Record = &w
				with, err := json.Marshal(res)
				if err != nil {
					t.Fatal(err)
				}
				if tt.want == "" && (w.Warning != "" || w.Key == "") || tt.want != "" && (w.Key != "" || !strings.Contains(w.Warning, tt.want)) {
					t.Fatalf("Write = %+v, want warning %q", w, tt.want)
				}
				a, errA := ReadResult("without", without)
				b, errB := ReadResult("with", with)
				if errA != nil || errB != nil || a.Verdict != verdict || b.Verdict != verdict || fmt.Sprint(a.Err()) != fmt.Sprint(b.Err()) {
					t.Errorf("verdict without the record %v (%v), with it %v (%v)", a.Verdict, a.Err(), b.Verdict, b.Err())
				}
			}
		})
	}
}
