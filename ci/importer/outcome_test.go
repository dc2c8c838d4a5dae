package importer_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/importer"
	"github.com/infrapipe/infrapipe/ci/internal/discoverytest"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
)

func pending(addr, id string) importer.Entry {
	return importer.Entry{ARN: "arn:" + addr, Address: addr, ID: id, Status: importer.Import}
}

// TestReadOutcome resolves pending imports against real `terraform plan -json` logs.
func TestReadOutcome(t *testing.T) {
	// The imports of testdata/plan-import*: Resolve copies entries, so the cases share them.
	three := []importer.Entry{pending("aws_s3_bucket.assets", "shop-prod-assets"),
		pending("aws_dynamodb_table.orders", "shop-prod-orders"),
		pending("aws_sns_topic.events", "arn:aws:sns:us-east-1:123456789012:shop-prod-events")}
	tests := []struct {
		name    string
		plan    string // `terraform show -json` of the saved plan, if any
		log     string
		entries []importer.Entry
		want    []importer.Status
		counted int
		reason  string
	}{
		{
			name:    "all three imported",
			log:     "testdata/plan-import.jsonl",
			entries: three,
			want:    []importer.Status{importer.Import, importer.Import, importer.Import},
			counted: 3,
		},
		{
			// An apply log names no import (a no-op import prints nothing per resource):
			// the saved plan says what was imported, the log says whether it failed.
			name:    "apply of the saved plan",
			plan:    "testdata/plan-import.json",
			log:     "testdata/apply-import.jsonl",
			entries: three,
			want:    []importer.Status{importer.Import, importer.Import, importer.Import},
			counted: 3,
		},
		{
			name:    "apply log without the plan confirms nothing",
			log:     "testdata/apply-import.jsonl",
			entries: []importer.Entry{pending("aws_s3_bucket.assets", "shop-prod-assets")},
			want:    []importer.Status{importer.Failed},
			counted: 3,
			reason:  "the plan does not import it",
		},
		{
			name:    "a different ID imported into the address",
			log:     "testdata/plan-import.jsonl",
			entries: []importer.Entry{pending("aws_s3_bucket.assets", "other-bucket")},
			want:    []importer.Status{importer.Failed},
			counted: 3,
			reason:  `Terraform imports ID "shop-prod-assets", not "other-bucket"`,
		},
		{
			name:    "an import the plan does not make",
			log:     "testdata/plan-import.jsonl",
			entries: []importer.Entry{pending("aws_s3_bucket.elsewhere", "x")},
			want:    []importer.Status{importer.Failed},
			counted: 3,
			reason:  "the plan does not import it",
		},
		{
			name:    "the object vanished before the plan",
			log:     "testdata/plan-import-failed.jsonl",
			entries: []importer.Entry{three[0], three[2]},
			// The plan failed, so nothing was imported: the topic's import fails too.
			want:    []importer.Status{importer.Failed, importer.Failed},
			counted: 1,
			reason:  "Cannot import non-existent remote object",
		},
		{
			// The Dagger module plans with -no-color: the same failure, read from the
			// plain output. The targeting warning before it is not an error.
			name:    "the object vanished, plain output",
			log:     "testdata/plan-import-failed.txt",
			entries: []importer.Entry{three[0], three[2]},
			want:    []importer.Status{importer.Failed, importer.Failed},
			counted: -1,
			reason: `the run failed: Cannot import non-existent remote object: While attempting to import an existing object to "aws_s3_bucket.assets", the ` +
				`provider detected that no object exists with the given id. Only pre-existing objects can be imported; check that the id is correct and that it is ` +
				`associated with the provider's configured region or endpoint, or use "terraform apply" to create a new remote object for this resource.`,
		},
		{
			name:    "no log at all",
			entries: []importer.Entry{pending("aws_s3_bucket.assets", "b")},
			want:    []importer.Status{importer.Failed},
			counted: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []byte
			if tt.log != "" {
				var err error
				if log, err = os.ReadFile(tt.log); err != nil {
					t.Fatal(err)
				}
			}
			var plan *tfjson.Plan
			if tt.plan != "" {
				b, err := os.ReadFile(tt.plan)
				if err != nil {
					t.Fatal(err)
				}
				if plan, err = importer.ReadPlan(b); err != nil {
					t.Fatal(err)
				}
			}
			o, err := importer.ReadOutcome(plan, log)
			if err != nil {
				t.Fatal(err)
			}
			if o.Counted != tt.counted {
				t.Errorf("Counted = %d, want %d", o.Counted, tt.counted)
			}
			p := (&importer.Plan{Entries: tt.entries}).Resolve(o)
			for i, e := range p.Entries {
				if e.Status != tt.want[i] {
					t.Errorf("%s: %s (%s), want %s", e.Address, e.Status, e.Reason, tt.want[i])
				}
			}
			if tt.reason != "" && !strings.Contains(p.Entries[0].Reason, tt.reason) {
				t.Errorf("reason %q lacks %q", p.Entries[0].Reason, tt.reason)
			}
			failed := false
			for _, s := range tt.want {
				failed = failed || s == importer.Failed
			}
			if (p.Err() != nil) != failed {
				t.Errorf("Err() = %v, want failure %v", p.Err(), failed)
			}
		})
	}
}

func FuzzReadOutcome(f *testing.F) {
	for _, name := range []string{"testdata/plan-import.jsonl", "testdata/plan-import-failed.jsonl", "testdata/plan-import-failed.txt", "testdata/apply-import.jsonl"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"change_summary","changes":{"import":-1}}`))
	f.Fuzz(func(t *testing.T, log []byte) {
		o, err := importer.ReadOutcome(nil, log)
		if err != nil {
			return
		}
		p := (&importer.Plan{Entries: []importer.Entry{pending("aws_s3_bucket.a", "a")}}).Resolve(o)
		if s := p.Entries[0].Status; s != importer.Import && s != importer.Failed {
			t.Fatalf("status %s after Resolve", s)
		}
	})
}

// TestPrepareWritesNothingOnFailure: when discovery fails (the server stalls past the
// timeout or dies) or the file cannot be placed, no imports.tf appears and an earlier one is
// left untouched.
func TestPrepareWritesNothingOnFailure(t *testing.T) {
	moto := mototest.Start(t)
	discoverytest.New(moto.URL).Create(t, discoverytest.Spec{Type: discovery.S3Bucket, Name: "shop-prod-assets", Tags: prod})
	plan, err := json.Marshal(planOf([]create{{"aws_s3_bucket.assets", map[string]any{"bucket": "shop-prod-assets"}}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config(moto)
	cfg.MaxAttempts, cfg.MaxBackoff, cfg.Timeout = 3, 10*time.Millisecond, 20*time.Second

	t.Run("imports.tf is a directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, importer.FileName), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := importer.Prepare(context.Background(), importer.Request{Discovery: cfg, PlanJSON: plan, Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "write "+filepath.Join(dir, importer.FileName)) {
			t.Fatalf("err = %v, want a write error naming the file", err)
		}
		assertOnly(t, dir, importer.FileName)
	})
	t.Run("server stalled", func(t *testing.T) {
		stalled := mototest.Start(t)
		stalled.Stall(t)
		dir := t.TempDir()
		old := "# the previous run's imports\n"
		if err := os.WriteFile(filepath.Join(dir, importer.FileName), []byte(old), 0o644); err != nil {
			t.Fatal(err)
		}
		stalledCfg := config(stalled)
		stalledCfg.Timeout = 2 * time.Second
		res, err := importer.Prepare(context.Background(), importer.Request{Discovery: stalledCfg, PlanJSON: plan, Dir: dir})
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "discovery timed out after 2s") {
			t.Fatalf("err = %v, want the overall timeout", err)
		}
		if res.Plan != nil || res.Blocks != nil || res.File != "" {
			t.Errorf("a timed-out run returned a plan, blocks or a file: %+v", res)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, importer.FileName)); string(got) != old {
			t.Errorf("imports.tf changed to %q", got)
		}
		assertOnly(t, dir, importer.FileName)
	})
	t.Run("server killed", func(t *testing.T) {
		dir := t.TempDir()
		old := "# the previous run's imports\n"
		if err := os.WriteFile(filepath.Join(dir, importer.FileName), []byte(old), 0o644); err != nil {
			t.Fatal(err)
		}
		moto.Stop()
		res, err := importer.Prepare(context.Background(), importer.Request{Discovery: cfg, PlanJSON: plan, Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "2 retries") || res.Stats.Attempts != 3 {
			t.Fatalf("err = %v, attempts %d; want a discovery failure after 3 attempts", err, res.Stats.Attempts)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, importer.FileName)); string(got) != old {
			t.Errorf("imports.tf changed to %q", got)
		}
		assertOnly(t, dir, importer.FileName)
	})
	t.Run("bad plan JSON", func(t *testing.T) {
		_, err := importer.Prepare(context.Background(), importer.Request{Discovery: cfg, PlanJSON: []byte("Plan: 1 to add"), Dir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "terraform show -json") {
			t.Fatalf("err = %v, want one asking for show -json", err)
		}
	})
}

// assertOnly fails unless dir holds exactly the named entries: no temporary files.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %v, want only %v", dir, got, names)
	}
}

func TestReport(t *testing.T) {
	p := &importer.Plan{Entries: []importer.Entry{
		{ARN: "arn:aws:s3:::a", Type: "aws_s3_bucket", ID: "a", Address: "aws_s3_bucket.a", Status: importer.Failed, Reason: "boom | `bad`\nline"},
		{ARN: "arn:aws:s3:::b", Type: "aws_s3_bucket", ID: "b", Status: importer.Ambiguous, Candidates: []string{"aws_s3_bucket.x", "aws_s3_bucket.y"}},
		{ARN: "arn:aws:sqs:r:1:q", Type: "aws_sqs_queue", ID: "http://q", Address: "aws_sqs_queue.q", Status: importer.Import},
	}}
	tests := []struct {
		dryRun bool
		want   []string
	}{
		{false, []string{"## Import: prod", "1 to import, 1 failed, 1 ambiguous", "| failed | `aws_s3_bucket.a` | `aws_s3_bucket` | `a` | ``boom \\| `bad` line`` |",
			"| ambiguous | `aws_s3_bucket.x, aws_s3_bucket.y` |", "already exists"}},
		{true, []string{"## Import (dry run: nothing written): prod", "1 would import", "| would import | `aws_sqs_queue.q` |"}},
	}
	for _, tt := range tests {
		r := importer.NewReport("prod", tt.dryRun, p, discovery.Stats{Calls: 3})
		md := r.Markdown()
		for _, w := range tt.want {
			if !strings.Contains(md, w) {
				t.Errorf("dry run %v: Markdown lacks %q:\n%s", tt.dryRun, w, md)
			}
		}
		b, err := r.JSON()
		if err != nil {
			t.Fatal(err)
		}
		var back importer.Report
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.Counts[importer.Failed] != 1 || len(back.Entries) != 3 || back.Discovery.Calls != 3 || back.DryRun != tt.dryRun {
			t.Errorf("JSON round trip lost data: %s", b)
		}
	}
}

func TestStateChangedError(t *testing.T) {
	base := errors.New("import failed")
	err := importer.StateChangedError(base, "prod", []string{"aws_s3_bucket.a", "aws_s3_bucket.b"}, "dagger call restore-state --env=prod --from=k --confirm")
	if !errors.Is(err, base) {
		t.Error("the import's own error is not wrapped")
	}
	for _, want := range []string{"--force removed aws_s3_bucket.a, aws_s3_bucket.b from the prod state", "```shell\ndagger call restore-state --env=prod --from=k --confirm\n```"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
