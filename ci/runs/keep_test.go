package runs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
)

func TestOutcome(t *testing.T) {
	for _, tt := range []struct {
		name        string
		facts       Facts
		err         error
		wantVerdict gate.Verdict
		wantReasons int
		wantApplied bool
	}{
		{"a success without a verdict passed", Facts{Applied: true}, nil, gate.Pass, 0, true},
		{"a success keeps its own verdict", Facts{Verdict: gate.Warn, Reasons: []string{"drifted"}}, nil, gate.Warn, 1, false},
		{"a failure blocks and applied nothing", Facts{Verdict: gate.Pass, Applied: true}, errors.New("terraform apply failed in prod"), gate.Block, 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.facts.Outcome(tt.err)
			if f.Verdict != tt.wantVerdict || len(f.Reasons) != tt.wantReasons || f.Applied != tt.wantApplied {
				t.Errorf("verdict %s, reasons %q, applied %v", f.Verdict, f.Reasons, f.Applied)
			}
			if tt.err != nil && f.Reasons[0] != tt.err.Error() {
				t.Errorf("reason %q, want the error", f.Reasons[0])
			}
		})
	}
}

// Keep names each record itself and writes it where Read finds it; what keeps it from
// writing is a warning that says why, never an error.
func TestKeepOnMoto(t *testing.T) {
	_, client, bucket := bucketOnMoto(t)
	ctx := context.Background()
	prefix := Prefix("shop")
	open := func() (Objects, string, error) { return client, prefix, nil }
	f := realFacts(t)
	f.ID, f.Ended = "", time.Time{}

	first, second := Keep(ctx, bucket, f, open), Keep(ctx, bucket, f, open)
	if first.Warning != "" || second.Warning != "" || first.Key == second.Key || !strings.HasPrefix(first.Key, prefix+"staging/2026/12/05/") {
		t.Fatalf("two records of one run: %+v and %+v, want two keys under %sstaging/2026/12/05/", first, second, prefix)
	}
	h, err := Read(ctx, client, bucket, prefix, environment.Staging, t0.Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil || len(h.Records) != 2 {
		t.Fatalf("read back %d records (%v), want 2", len(h.Records), err)
	}
	if h.Records[0].Ended.IsZero() {
		t.Error("a record kept without an end has none; Keep ends it now")
	}

	for _, tt := range []struct {
		name, bucket string
		open         Opener
		want         string
	}{
		{"no bucket configured", "", open, "staging has no state bucket (pipeline.yaml backend.bucket)"},
		{"the bucket cannot be opened", bucket, func() (Objects, string, error) { return nil, "", errors.New("no credentials") }, "no credentials"},
		{"the bucket does not exist", "missing-bucket", open, "s3://missing-bucket/" + prefix + "staging/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := Keep(ctx, tt.bucket, f, tt.open)
			if w.Key != "" || !strings.Contains(w.Warning, tt.want) {
				t.Errorf("Keep = %+v, want a warning containing %q", w, tt.want)
			}
		})
	}
}
