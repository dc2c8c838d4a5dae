package runs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/infrapipe/infrapipe/ci/cost"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/statebucket"
	"github.com/infrapipe/infrapipe/ci/plan"
)

var t0 = time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC)

// realFacts are a run's facts from real tool output: a real plan's counts, real tflint
// findings and a real Infracost estimate.
func realFacts(t testing.TB) Facts {
	t.Helper()
	a, err := plan.AnalyzeFile(filepath.Join("testdata", "terraform-plan-replace-tainted.json"))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := findings.ReadFile(findings.FormatTflintJSON, filepath.Join("testdata", "tflint-json-info-and-warning.json"))
	if err != nil {
		t.Fatal(err)
	}
	fs[0].Suppressed = "accepted in suppressions.yaml"
	data, err := os.ReadFile(filepath.Join("testdata", "infracost-breakdown-aws-example-plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cost.Parse("infracost.json", data)
	if err != nil {
		t.Fatal(err)
	}
	return Facts{
		ID: NewID(t0, "9f86d081"), Kind: KindPipeline, Env: environment.Staging,
		Commit: strings.Repeat("a", 40), Ref: "refs/heads/main", Trigger: "push", Actor: "octocat",
		Started: t0, Ended: t0.Add(7*time.Minute + 30*time.Second),
		Verdict: gate.Warn, Reasons: []string{"Lint: 2 warning(s)\nline two of a tool's output"},
		Steps: []Step{
			StepOf(StepLint, gate.Warn, len(fs), t0, t0.Add(40*time.Second)),
			StepOf("Plan", gate.Pass, 0, t0, t0.Add(3*time.Minute)),
		},
		Plan: &a.Counts, Findings: fs, Cost: &c, Applied: true,
		Reproduce: "dagger call pipeline --env=staging --aws-access-key-id=env:AWS_ACCESS_KEY_ID",
	}
}

func TestNew(t *testing.T) {
	f := realFacts(t)
	r := New(f)
	if r.SchemaVersion != SchemaVersion || r.Duration() != 7*time.Minute+30*time.Second || !r.Succeeded() || !r.Applied {
		t.Errorf("record %+v", r)
	}
	if want := []string{"Lint: 2 warning(s)"}; !reflect.DeepEqual(r.Reasons, want) {
		t.Errorf("reasons %q, want the first line only %q", r.Reasons, want)
	}
	if r.Counts == nil || r.Counts.Replace != f.Plan.Replace || r.Counts.Replace == 0 {
		t.Errorf("counts %+v, plan %+v", r.Counts, f.Plan)
	}
	if r.Cost == nil || r.Cost.Currency != "USD" || r.Cost.Monthly != f.Cost.TotalMonthly || r.Cost.Monthly == 0 {
		t.Errorf("cost %+v, report %+v", r.Cost, f.Cost)
	}
	var total, suppressed int
	for _, c := range r.Findings {
		total += c.Count
		suppressed += c.Suppressed
		if c.Tool != "tflint" {
			t.Errorf("finding count %+v: tool", c)
		}
	}
	if total+suppressed != len(f.Findings) || suppressed != 1 {
		t.Errorf("findings %+v: %d counted, %d suppressed, of %d", r.Findings, total, suppressed, len(f.Findings))
	}
	if s, ok := r.Step("Lint"); !ok || s.DurationMS != 40000 {
		t.Errorf("Lint step %+v %v", s, ok)
	}
	// Nothing a tool said about a resource reaches the record: only counts.
	data, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range f.Findings {
		if strings.Contains(string(data), f.Message) {
			t.Errorf("record holds a finding's message %q", f.Message)
		}
	}
}

func TestShorten(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	got := shorten(long)
	if len(got) > maxReason+len("…") || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "éé") {
		t.Errorf("shorten cut %q (%d bytes)", got, len(got))
	}
	for _, r := range strings.TrimSuffix(got, "…") {
		if r != 'é' {
			t.Fatalf("shorten split a character: %q", got)
		}
	}
}

func TestParse(t *testing.T) {
	good, err := New(realFacts(t)).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	with := func(old, new string) []byte { return []byte(strings.Replace(string(good), old, new, 1)) }
	for _, tt := range []struct {
		name    string
		data    []byte
		wantErr string
		newer   bool
	}{
		{"valid", good, "", false},
		{"newer schema", with(`"schema_version": 1`, `"schema_version": 2`), "schema_version 2 (this infrapipe reads 1)", true},
		{"no schema", with(`"schema_version": 1,`, ``), "schema_version 0: valid values are 1 to 1", false},
		{"bad verdict", with(`"verdict": "warn"`, `"verdict": "fine"`), `verdict "fine": valid values are pass, warn, block`, false},
		{"bad env", with(`"env": "staging"`, `"env": "production"`), "env:", false},
		{"bad kind", with(`"kind": "pipeline"`, `"kind": "plan"`), `kind "plan"`, false},
		{"bad id", with(`"id": "20261205T083000Z-9f86d081"`, `"id": "../x"`), `id "../x"`, false},
		{"no start", with(`"started": "2026-12-05T08:30:00Z"`, `"started": "0001-01-01T00:00:00Z"`), "started and ended are required", false},
		{"negative duration", with(`"duration_ms": 40000`, `"duration_ms": -1`), "steps[0].duration_ms -1", false},
		{"not JSON", []byte("<html>"), "not a run record", false},
		{"too big", make([]byte, maxRecord+1), "over the", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse("runs/x.json", tt.data)
			if tt.wantErr == "" {
				if err != nil || r.ID != "20261205T083000Z-9f86d081" {
					t.Fatalf("Parse = %+v, %v", r, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "runs/x.json: ") {
				t.Fatalf("Parse error %v, want one naming runs/x.json with %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrNewerSchema) != tt.newer {
				t.Errorf("errors.Is(ErrNewerSchema) = %v, want %v", !tt.newer, tt.newer)
			}
		})
	}
}

// A record that parses is valid, survives a write and a read unchanged, and an error is
// one line naming the object.
func FuzzParse(f *testing.F) {
	good, err := New(realFacts(f)).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"schema_version": 9}`))
	f.Add([]byte(`{"schema_version": 1, "id": "20261205T083000Z-a", "kind": "drift", "env": "prod", "verdict": "block", "started": "2026-12-05T08:30:00Z", "ended": "2026-12-05T08:00:00Z", "steps": null, "findings": [{"count": -1}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("runs/fuzz.json", data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if err := r.Check(); err != nil {
			t.Fatalf("Parse accepted an invalid record: %v", err)
		}
		again, err := r.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed record: %v", err)
		}
		r2, err := Parse("again", again)
		if err != nil {
			t.Fatalf("a written record does not parse: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(normal(r), normal(r2)) {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", r, r2)
		}
	})
}

// normal drops what JSON cannot tell apart (nil and empty slices, time zones).
func normal(r Record) Record {
	r.Started, r.Ended = r.Started.UTC(), r.Ended.UTC()
	if len(r.Reasons) == 0 {
		r.Reasons = nil
	}
	if len(r.Steps) == 0 {
		r.Steps = nil
	}
	if len(r.Findings) == 0 {
		r.Findings = nil
	}
	return r
}

func TestKey(t *testing.T) {
	r := New(realFacts(t))
	if got, want := Key(Prefix("terraform"), r), "runs/terraform/staging/2026/12/05/20261205T083000Z-9f86d081_v1_pipeline_warn_live_450000_w_n_n_0_"+num(r.Cost.Monthly)+"USD.json"; got != want {
		t.Errorf("Key = %s, want %s", got, want)
	}
	if got := Prefix(""); got != "runs/" {
		t.Errorf("Prefix(\"\") = %s", got)
	}
}

// bucketOnMoto is an S3 client on a fresh moto_server and a bucket in it.
func bucketOnMoto(t testing.TB) (*mototest.Server, *s3.Client, string) {
	t.Helper()
	const bucket = "infrapipe-terraform-state"
	moto := mototest.Start(t)
	return moto, moto.Bucket(t, bucket), bucket
}

// Records are written to moto's S3 and read back for a period: only the period's, sorted,
// with records of a newer schema and objects that are not records counted apart.
func TestWriteReadOnMoto(t *testing.T) {
	_, client, bucket := bucketOnMoto(t)
	ctx := context.Background()
	prefix := Prefix("terraform")
	base := New(realFacts(t))
	var want []string
	for i := range 5 {
		r := base
		r.Started = t0.AddDate(0, 0, -i).Add(time.Duration(i) * time.Hour) // one a day, going back
		r.Ended = r.Started.Add(time.Minute)
		r.ID = NewID(r.Started, fmt.Sprintf("n%d", i))
		w := Write(ctx, client, bucket, prefix, r, WriteTimeout)
		if w.Warning != "" || w.Key != Key(prefix, r) || w.Markdown() != "" {
			t.Fatalf("Write = %+v", w)
		}
		if i < 3 {
			want = append([]string{r.ID}, want...)
		}
	}
	// Another environment's record, a newer schema's and a broken object in the period.
	other := base
	other.Env, other.ID = environment.Prod, NewID(t0, "prod")
	if w := Write(ctx, client, bucket, prefix, other, WriteTimeout); w.Warning != "" {
		t.Fatal(w.Warning)
	}
	day := prefix + "staging/2026/12/05/"
	for name, body := range map[string]string{
		"20261205T090000Z-newer.json":  `{"schema_version": 2, "anything": "new"}`,
		"20261205T090100Z-broken.json": `{"schema_version": 1, "verdict": "maybe"}`,
		"notes.txt":                    "not a record",
	} {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(day + name), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}

	h, err := Read(ctx, client, bucket, prefix, environment.Staging, t0.AddDate(0, 0, -2).Truncate(24*time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range h.Records {
		got = append(got, r.ID)
		if time.Since(r.Stored) > time.Minute {
			t.Errorf("record %s: stored %s, want the bucket's time of the write", r.ID, r.Stored)
		}
		r.Stored = time.Time{}
		if !reflect.DeepEqual(normal(r), normal(withID(base, r))) {
			t.Errorf("record %s read back differs:\n%+v\n%+v", r.ID, r, base)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read %v, want %v (oldest first, the period's only)", got, want)
	}
	if h.Newer != 1 || !reflect.DeepEqual(h.Invalid, []string{day + "20261205T090100Z-broken.json"}) {
		t.Errorf("newer %d, invalid %v", h.Newer, h.Invalid)
	}
	// The object is encrypted at rest, like the state.
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(Key(prefix, h.Records[0]))})
	if err != nil {
		t.Fatal(err)
	}
	if head.ServerSideEncryption != "AES256" {
		t.Errorf("record object encryption %q, want AES256", head.ServerSideEncryption)
	}

	empty, err := Read(ctx, client, bucket, prefix, environment.Preview, t0.AddDate(0, 0, -30), t0)
	if err != nil || len(empty.Records) != 0 {
		t.Errorf("preview: %+v, %v", empty, err)
	}
}

func TestFolders(t *testing.T) {
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	for _, tt := range []struct {
		first, last time.Time
		want        []string
	}{
		{day(12, 4), day(12, 6), []string{"r/prod/2026/12/04/", "r/prod/2026/12/05/", "r/prod/2026/12/06/"}},
		{day(10, 30), day(12, 2), []string{"r/prod/2026/10/30/", "r/prod/2026/10/31/", "r/prod/2026/11/", "r/prod/2026/12/01/", "r/prod/2026/12/02/"}},
		{day(11, 1), day(11, 30), []string{"r/prod/2026/11/"}},
		{day(11, 1), day(11, 29), nil}, // 29 days, checked by count below
	} {
		got := folders("r/", environment.Prod, tt.first, tt.last)
		if tt.want == nil {
			if len(got) != 29 {
				t.Errorf("folders %s..%s = %d folders, want 29 days", tt.first, tt.last, len(got))
			}
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("folders %s..%s = %v, want %v", tt.first.Format(time.DateOnly), tt.last.Format(time.DateOnly), got, tt.want)
		}
	}
}

func withID(base, r Record) Record {
	base.ID, base.Started, base.Ended = r.ID, r.Started, r.Ended
	return base
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// indexed is the part of a record its name keeps.
func indexed(r Record) Record {
	out := Record{SchemaVersion: r.SchemaVersion, ID: r.ID, Kind: r.Kind, Env: r.Env, Started: r.Started.UTC(), Verdict: r.Verdict, DryRun: r.DryRun,
		Steps: []Step{}, Findings: []FindingCount{}, Stored: r.Stored}
	out.Ended = out.Started.Add(time.Duration(max(r.Ended.Sub(r.Started).Milliseconds(), 0)) * time.Millisecond)
	for _, name := range indexSteps {
		if s, ok := r.Step(name); ok {
			out.Steps = append(out.Steps, Step{Name: name, Verdict: s.Verdict})
		}
	}
	if n := r.Critical(); n > 0 && r.Scanned() {
		out.Findings = append(out.Findings, FindingCount{Severity: "CRITICAL", Count: n})
	}
	if r.Cost != nil {
		out.Cost = &Cost{Currency: r.Cost.Currency, Monthly: r.Cost.Monthly}
	}
	return out
}

// Index reads from the names what Read reads from the objects, downloads only what has no
// summary in its name, and counts a newer schema's name without downloading it.
func TestIndexOnMoto(t *testing.T) {
	_, client, bucket := bucketOnMoto(t)
	ctx := context.Background()
	prefix := Prefix("terraform")
	base := New(realFacts(t))
	var written []Record
	for i, mod := range []func(*Record){
		func(r *Record) {},
		func(r *Record) { r.DryRun, r.Verdict, r.Cost = true, gate.Block, nil },
		func(r *Record) {
			r.Kind, r.Steps, r.Findings = KindApply, []Step{{Name: "Apply", Verdict: gate.Pass}}, nil
		},
		func(r *Record) {
			r.Steps = append(r.Steps, Step{Name: StepSecurityScan, Verdict: gate.Block}, Step{Name: StepCompliance, Verdict: gate.Pass})
			r.Findings = append(r.Findings, FindingCount{Tool: "checkov", Severity: "CRITICAL", Count: 3, Suppressed: 2})
			r.Cost = &Cost{Currency: "EUR", Monthly: 1234.5678}
		},
	} {
		r := base
		r.Steps = slices.Clone(base.Steps)
		r.Findings = slices.Clone(base.Findings)
		r.ID = NewID(t0, fmt.Sprintf("i%d", i))
		mod(&r)
		if w := Write(ctx, client, bucket, prefix, r, WriteTimeout); w.Warning != "" {
			t.Fatal(w.Warning)
		}
		written = append(written, r)
	}
	day := prefix + "staging/2026/12/05/"
	hand := written[0]
	hand.ID = NewID(t0, "hand")
	data, _ := hand.Marshal()
	for name, body := range map[string]string{
		hand.ID + ".json": string(data), // copied in by hand: no summary, downloaded
		"20261205T083000Z-future_v2_pipeline_pass_live_1_n_n_n_n_n.json": "never downloaded: not JSON",
	} {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(day + name), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	written = append(written, hand)
	Sort(written)

	h, err := Index(ctx, client, bucket, prefix, environment.Staging, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Records) != len(written) || h.Newer != 1 || len(h.Invalid) != 0 {
		t.Fatalf("index: %d records, %d newer, invalid %v", len(h.Records), h.Newer, h.Invalid)
	}
	for i, got := range h.Records {
		got.Stored = time.Time{}
		want := indexed(written[i])
		if got.ID == hand.ID {
			got = indexed(got) // read whole: compare what an index keeps
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("record %s from its name:\n got %+v\nwant %+v", got.ID, got, want)
		}
	}
}

// A name FromName reads is the name Key writes for what it read: the summary cannot say
// more, or other, than a record.
func FuzzFromName(f *testing.F) {
	r := New(realFacts(f))
	f.Add(path.Base(Key("runs/", r)))
	f.Add("20261205T083000Z-a_v1_apply_block_dry_0_n_b_p_7_0.5EUR.json")
	f.Add("20261205T083000Z-a_v3_x.json")
	f.Add("20261205T083000Z-a.json")
	f.Fuzz(func(t *testing.T, name string) {
		r, err := FromName(environment.Prod, name)
		if err != nil {
			return
		}
		if err := r.Check(); err != nil {
			t.Fatalf("FromName(%q) gave an invalid record: %v", name, err)
		}
		again, err := FromName(environment.Prod, path.Base(Key("runs/", r)))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("FromName(%q) = %+v; its own name reads %+v, %v", name, r, again, err)
		}
	})
}

// Reading the records of a bucket that does not exist (a typo in backend.bucket) names the
// bucket, on a real S3 API.
func TestIndexMissingBucket(t *testing.T) {
	_, client, _ := bucketOnMoto(t)
	_, err := Index(context.Background(), client, "no-such-state-bucket", Prefix("terraform"), environment.Prod, t0.AddDate(0, 0, -3), t0)
	var missing *statebucket.MissingError
	if !errors.As(err, &missing) || missing.Bucket != "no-such-state-bucket" {
		t.Fatalf("Index on a missing bucket = %v, want a *statebucket.MissingError", err)
	}
}
