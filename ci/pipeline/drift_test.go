package pipeline

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/notify"
	"github.com/infrapipe/infrapipe/ci/runs"
	"github.com/infrapipe/infrapipe/ci/state"
)

// A drift report's files, message and record, from real refresh-only plans, a check that
// failed in Terraform and one that could not run at all.
func TestDriftReport(t *testing.T) {
	drifted := readDrift(t, "drift-refresh-only-exit2.json", 2)
	clean := readDrift(t, "drift-refresh-only-exit0.json", 0)
	failed, err := state.ReadDrift(environment.Prod, 1, "Error: No valid credential sources found\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	reproduce := Call([]string{"--terraform-dir=."}, "drift").Flag("env", "prod").Bool("fail-on-drift", true)
	started := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	ended := started.Add(90 * time.Second)
	tests := []struct {
		name        string
		d           state.Drift
		err         error
		failOnDrift bool
		deliveries  []notify.Delivery
		record      runs.Written
		verdict     gate.Verdict
		status      state.DriftStatus
		drifted     int
		md          []string // in drift.md, in this order
		jsonErr     string   // drift.json's error
	}{
		{name: "no drift", d: clean, verdict: gate.Pass, status: state.DriftNone,
			md: []string{"prod"}},
		{name: "drift warns", d: drifted, verdict: gate.Warn, status: state.DriftFound, drifted: 2,
			deliveries: []notify.Delivery{{Channel: "slack", Delivered: true, Attempts: 1}},
			md:         []string{"aws_s3_bucket.assets", "slack"}},
		{name: "drift blocks, its record not written", d: drifted, failOnDrift: true, verdict: gate.Block, status: state.DriftFound, drifted: 2,
			deliveries: []notify.Delivery{{Channel: "teams", Attempts: 3, Error: "HTTP 500"}},
			record:     runs.Written{Warning: "bucket unreachable"},
			md:         []string{"aws_s3_bucket.logs", "HTTP 500", "The run record was not written", "bucket unreachable"}},
		{name: "terraform failed", d: failed, verdict: gate.Block, status: state.DriftError,
			md: []string{"No valid credential sources found"}, jsonErr: "No valid credential sources found"},
		{name: "the check could not run", err: errors.New("terraform init: backend bucket missing"), verdict: gate.Block, status: state.DriftError,
			md:      []string{"## Drift: prod\n\nThe check could not run:", "terraform init: backend bucket missing"},
			jsonErr: "the drift check failed: terraform init: backend bucket missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := NewDriftReport(environment.Prod, tt.d, tt.err, tt.failOnDrift)
			rep.Result.Notifications = tt.deliveries
			if rep.Result.Verdict != tt.verdict || rep.Result.Check != "drift" || rep.Result.Env != environment.Prod {
				t.Fatalf("result %+v, want drift of prod %s", rep.Result, tt.verdict)
			}

			m := rep.Message("https://ci.example/run/1", reproduce)
			if m.Check != "drift" || m.Env != environment.Prod || m.Verdict != string(tt.verdict) || m.Counts["drifted"] != tt.drifted ||
				m.RunURL != "https://ci.example/run/1" || m.Reproduce != reproduce.String() || !reflect.DeepEqual(m.Reasons, rep.Result.Reasons) {
				t.Errorf("message %+v", m)
			}
			f := rep.Facts(started, ended, reproduce)
			if f.Kind != runs.KindDrift || f.Verdict != tt.verdict || f.Plan == nil || f.Plan.Drift != tt.drifted || len(f.Steps) != 1 ||
				f.Steps[0].Name != "Drift check" || f.Steps[0].Verdict != tt.verdict || f.Reproduce != reproduce.String() || !f.Started.Equal(started) {
				t.Errorf("facts %+v", f)
			}

			files, err := rep.Files(tt.record, reproduce)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 6 || files[0] != "drift.md" || files[2] != "drift.json" || files[4] != ResultFile {
				t.Fatalf("files %q, want drift.md, drift.json, %s", names(files), ResultFile)
			}
			md := files[1]
			if md != rep.Summary(tt.record)+reproduce.Markdown() {
				t.Errorf("drift.md is not the summary and the reproduce line:\n%s", md)
			}
			if err := rep.Err(tt.record); (err != nil) != (tt.verdict == gate.Block) ||
				err != nil && !strings.HasSuffix(err.Error(), "\n\n"+rep.Summary(tt.record)) {
				t.Errorf("Err() = %v; want an error, ending with the summary, only for block", err)
			}
			rest := md
			for _, want := range append(tt.md, reproduce.String()) {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("drift.md lacks %q (or has it out of order):\n%s", want, md)
				}
				rest = rest[i+len(want):]
			}
			if tt.record.Warning == "" && strings.Contains(md, "record was not written") {
				t.Errorf("drift.md warns of a record that was written:\n%s", md)
			}

			var d state.Drift
			if err := json.Unmarshal([]byte(files[3]), &d); err != nil {
				t.Fatalf("drift.json: %v", err)
			}
			if d.Env != environment.Prod || d.Status != tt.status || d.Changes == nil || len(d.Changes) != tt.drifted || !strings.Contains(d.Error, tt.jsonErr) {
				t.Errorf("drift.json %+v, want status %s with %d changes, error %q", d, tt.status, tt.drifted, tt.jsonErr)
			}
			res, err := ReadResult(ResultFile, []byte(files[5]))
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tt.verdict || !reflect.DeepEqual(res.Notifications, tt.deliveries) || (res.Err() != nil) != (tt.verdict == gate.Block) {
				t.Errorf("result.json %+v", res)
			}
		})
	}
}

func names(files []string) []string {
	var out []string
	for i := 0; i < len(files); i += 2 {
		out = append(out, files[i])
	}
	return out
}
