package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/infrapipe/infrapipe/ci/report"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/state"
)

func profile(t *testing.T, name string) environment.Profile {
	t.Helper()
	p, err := environment.DefaultConfig().Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewPlan(t *testing.T) {
	all := Order
	tests := []struct {
		env    string
		opts   Options
		want   []Step
		tflint bool
	}{
		{"preview", Options{}, []Step{StepLint, StepPlan, StepApply, StepTests}, false},
		{"preview", Options{Project: "shop"}, []Step{StepLint, StepPlan, StepApply, StepTests}, false}, // preview never imports
		{"test", Options{}, []Step{StepLint, StepSecurityScan, StepPlan, StepApply, StepTests}, true},
		{"test", Options{Project: "shop"}, []Step{StepLint, StepSecurityScan, StepImport, StepPlan, StepApply, StepTests}, true},
		{"staging", Options{Project: "shop", SkipTests: true}, []Step{StepLint, StepSecurityScan, StepImport, StepPlan, StepCompliance, StepCost, StepApply}, true},
		{"prod", Options{Project: "shop"}, all, true},
		{"prod", Options{Project: "shop", DryRun: true}, []Step{StepLint, StepSecurityScan, StepImport, StepPlan, StepCompliance, StepCost}, true},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			p := NewPlan(profile(t, tt.env), tt.opts)
			if got := p.Steps(); !slices.Equal(got, tt.want) {
				t.Errorf("steps = %v, want %v", got, tt.want)
			}
			for _, s := range all {
				if p.Runs(s) != slices.Contains(tt.want, s) {
					t.Errorf("Runs(%s) = %v", s, p.Runs(s))
				}
			}
			if p.Tflint != tt.tflint {
				t.Errorf("Tflint = %v, want %v", p.Tflint, tt.tflint)
			}
		})
	}
}

func TestBroken(t *testing.T) {
	err := errors.New("checkov: exit code 2")
	for _, tt := range []struct {
		env  string
		want gate.Verdict
	}{{"preview", gate.Warn}, {"test", gate.Warn}, {"staging", gate.Warn}, {"prod", gate.Block}} {
		o := Broken(profile(t, tt.env), StepSecurityScan, err)
		if o.Verdict != tt.want || o.Step != StepSecurityScan {
			t.Errorf("%s: %+v, want verdict %s", tt.env, o, tt.want)
		}
		if want := "Security scan could not run: checkov: exit code 2"; len(o.Reasons) != 1 || o.Reasons[0] != want {
			t.Errorf("%s: reasons %q, want %q", tt.env, o.Reasons, want)
		}
	}
}

func TestVerdictAndReasons(t *testing.T) {
	lint := Outcome{Step: StepLint, Verdict: gate.Pass}
	cost := Outcome{Step: StepCost, Verdict: gate.Warn, Reasons: []string{"no estimate"}}
	plan := Outcome{Step: StepPlan, Verdict: gate.Block, Reasons: []string{"deletes a", "replaces b"}}
	tests := []struct {
		name     string
		outs     []Outcome
		verdict  gate.Verdict
		blocking []string
		all      []string
	}{
		{"no steps", nil, gate.Pass, []string{}, []string{}},
		{"all pass", []Outcome{lint}, gate.Pass, []string{}, []string{}},
		{"a warning", []Outcome{lint, cost}, gate.Warn, []string{}, []string{"Cost: no estimate"}},
		{"block wins", []Outcome{cost, plan, lint}, gate.Block, []string{"Plan: deletes a", "Plan: replaces b"},
			[]string{"Cost: no estimate", "Plan: deletes a", "Plan: replaces b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verdict(tt.outs); got != tt.verdict {
				t.Errorf("Verdict = %s, want %s", got, tt.verdict)
			}
			if got := Reasons(tt.outs, gate.Block); !slices.Equal(got, tt.blocking) {
				t.Errorf("blocking reasons = %q, want %q", got, tt.blocking)
			}
			if got := Reasons(tt.outs, gate.Pass); !slices.Equal(got, tt.all) {
				t.Errorf("all reasons = %q, want %q", got, tt.all)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	outs := []Outcome{{Step: StepTests}, {Step: "Custom"}, {Step: StepCost}, {Step: StepLint}, {Step: StepPlan}, {Step: StepSecurityScan}}
	slices.SortStableFunc(outs, func(a, b Outcome) int { return Compare(a.Step, b.Step) })
	var got []Step
	for _, o := range outs {
		got = append(got, o.Step)
	}
	want := []Step{StepLint, StepSecurityScan, StepPlan, StepCost, StepTests, "Custom"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

func readDrift(t *testing.T, file string, exit int) state.Drift {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	d, err := state.ReadDrift(environment.Prod, exit, "", data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDriftResult(t *testing.T) {
	drifted := readDrift(t, "drift-refresh-only-exit2.json", 2)
	clean := readDrift(t, "drift-refresh-only-exit0.json", 0)
	empty := readDrift(t, "drift-refresh-only-no-state.json", 0)
	failed, err := state.ReadDrift(environment.Prod, 1, "Error: No valid credential sources found\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		d           state.Drift
		failOnDrift bool
		verdict     gate.Verdict
		reason      string
	}{
		{"no drift", clean, true, gate.Pass, ""},
		{"nothing deployed warns", empty, false, gate.Warn, "nothing to compare: the state of prod holds no resources"},
		{"even with --fail-on-drift", empty, true, gate.Warn, "nothing to compare"},
		{"drift reported", drifted, false, gate.Warn, "2 resource(s) changed outside Terraform: aws_s3_bucket.assets, aws_s3_bucket.logs"},
		{"drift fails", drifted, true, gate.Block, "2 resource(s) changed outside Terraform: aws_s3_bucket.assets, aws_s3_bucket.logs"},
		{"check failed", failed, false, gate.Block, "the drift check failed: Error: No valid credential sources found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DriftResult(tt.d, tt.failOnDrift)
			if r.Verdict != tt.verdict || r.Check != "drift" || r.Env != environment.Prod {
				t.Fatalf("result = %+v, want verdict %s", r, tt.verdict)
			}
			if got := strings.Join(r.Reasons, "\n"); !strings.HasPrefix(got, tt.reason) || (tt.reason == "") != (got == "") {
				t.Errorf("reasons = %q, want %q", got, tt.reason)
			}
			if (r.Err() != nil) != (tt.verdict == gate.Block) {
				t.Errorf("Err() = %v for verdict %s", r.Err(), r.Verdict)
			}
		})
	}
}

// The post-deploy report carries a verdict that "verdict" reads back: a failed check fails
// the job after the report (and its junit.xml) was kept.
func TestTestsResult(t *testing.T) {
	pass := TestsResult(environment.Test, nil)
	failed := TestsResult(environment.Test, []string{"monitoring present: no alarm"})
	for _, tt := range []struct {
		r       Result
		verdict gate.Verdict
	}{{pass, gate.Pass}, {failed, gate.Block}} {
		data, err := json.Marshal(tt.r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ReadResult("result.json", data)
		if err != nil {
			t.Fatal(err)
		}
		if back.Check != "test" || back.Verdict != tt.verdict || (back.Err() != nil) != (tt.verdict == gate.Block) {
			t.Errorf("read back %+v (err %v), want verdict %s", back, back.Err(), tt.verdict)
		}
	}
	if err := failed.Err(); err == nil || !strings.Contains(err.Error(), "monitoring present: no alarm") {
		t.Errorf("Err() = %v, want the failed check", err)
	}
}

func TestReadResult(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantErr string
		blocks  string // substring of Err(), empty when it passes
		line    string
	}{
		{"pipeline pass", `{"env":"test","verdict":"pass","reasons":[]}`, "", "", "test pipeline: pass"},
		{"pipeline warn", `{"env":"staging","verdict":"warn","reasons":["Cost: no estimate"]}`, "", "", "staging pipeline: warn"},
		{"pipeline block", `{"env":"prod","verdict":"block","reasons":["Plan: deletes a"],"steps":[]}`, "", "prod pipeline blocked:\n- Plan: deletes a", ""},
		{"drift block", `{"check":"drift","env":"prod","verdict":"block","reasons":["2 resource(s) changed"]}`, "", "prod drift blocked:\n- 2 resource(s) changed", ""},
		{"block without reasons", `{"env":"prod","verdict":"block"}`, "", "gives no reason", ""},
		{"unknown verdict", `{"env":"prod","verdict":"maybe"}`, `verdict "maybe": valid values are pass, warn, block`, "", ""},
		{"no verdict", `{"env":"prod"}`, `verdict "": valid values`, "", ""},
		{"unknown env", `{"env":"qa","verdict":"pass"}`, "env:", "", ""},
		{"not JSON", `<html>`, "reports/result.json: not a report result", "", ""},
		{"empty", ``, "not a report result", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ReadResult("reports/result.json", []byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.blocks == "" {
				if r.Err() != nil || r.String() != tt.line {
					t.Errorf("Err() = %v, String() = %q; want nil, %q", r.Err(), r.String(), tt.line)
				}
				return
			}
			if r.Err() == nil || !strings.Contains(r.Err().Error(), tt.blocks) {
				t.Errorf("Err() = %v, want %q", r.Err(), tt.blocks)
			}
		})
	}
}

// verdict --report reads a real report's result.json, and names a directory that is not a
// report (an empty export, the wrong path) as such.
func TestReadReport(t *testing.T) {
	blocked := Report{Run: Run{Env: environment.Prod}, Plan: realPlan(t, environment.Prod),
		Steps: []StepReport{{Outcome: Outcome{Step: StepPlan, Verdict: gate.Block, Reasons: []string{"prod plan deletes terraform_data.old"}}}}}
	list, _, err := blocked.Files()
	if err != nil {
		t.Fatal(err)
	}
	res, err := ReadReport(reportOnDisk(t, list))
	if err != nil || res.Err() == nil || !strings.Contains(res.Err().Error(), "prod plan deletes terraform_data.old") {
		t.Errorf("ReadReport of a blocked report = %+v, %v", res, err)
	}
	_, err = ReadReport(reportOnDisk(t, []string{"summary.md", "# x\n"}))
	if err == nil || err.Error() != "--report has no result.json, so it is not a report: give the directory pipeline or drift exported with --report-on-failure, e.g. --report=./reports" {
		t.Errorf("ReadReport without result.json = %v", err)
	}
	_, err = ReadReport(reportOnDisk(t, []string{"result.json", "{}"}))
	if err == nil || !strings.HasPrefix(err.Error(), "result.json of --report: verdict") {
		t.Errorf("ReadReport of an empty result = %v", err)
	}
}

// A result written for one check reads back the same: what the module writes, `verdict`
// reads.
func TestResultRoundTrip(t *testing.T) {
	r := DriftResult(readDrift(t, "drift-refresh-only-exit2.json", 2), true)
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadResult("result.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Err() == nil || back.Err().Error() != r.Err().Error() {
		t.Errorf("read back %v, wrote %v", back.Err(), r.Err())
	}
	failed := FailedCheck("drift", environment.Test, errors.New("terraform init failed"))
	if failed.Err() == nil || !strings.Contains(failed.Err().Error(), "test drift blocked:\n- the drift check failed: terraform init failed") {
		t.Errorf("FailedCheck Err() = %v", failed.Err())
	}
}

func FuzzReadResult(f *testing.F) {
	f.Add([]byte(`{"env":"prod","verdict":"block","reasons":["Plan: deletes a"]}`))
	f.Add([]byte(`{"check":"drift","env":"test","verdict":"pass","reasons":[]}`))
	f.Add([]byte(`{"env":"qa"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadResult("result.json", data)
		if err != nil {
			return
		}
		if (r.Err() != nil) != (r.Verdict == gate.Block) {
			t.Fatalf("Err() = %v for verdict %s", r.Err(), r.Verdict)
		}
	})
}

func TestCommand(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
		want string
	}{
		{"plain", Call(nil, "plan").Flag("env", "test"), "dagger call plan --env=test export --path=./plan"},
		{"options and flags", Call([]string{"--emulate-aws", "--region=eu-west-1"}, "pipeline").
			Flag("env", "prod").Bool("dry-run", true).Bool("skip-tests", false).Flag("project", "").
			Secret("aws-access-key-id", true, "AWS_ACCESS_KEY_ID").Secret("aws-session-token", false, "AWS_SESSION_TOKEN"),
			"dagger call --emulate-aws --region=eu-west-1 pipeline --env=prod --dry-run --aws-access-key-id=env:AWS_ACCESS_KEY_ID export --path=./reports"},
		{"quoted", Call([]string{"--terraform-dir=infra live"}, "restore-state").Flag("from", "backups/it's.tfstate"),
			`dagger call '--terraform-dir=infra live' restore-state '--from=backups/it'\''s.tfstate'`},
		{"placeholder", Call(nil, "apply").Flag("plan", "<plan directory>"), `dagger call apply '--plan=<plan directory>' export --path=./apply`},
		{"constructor secrets go before the function", Call([]string{"--emulate-aws"}, "drift").Flag("env", "prod").
			SecretOption("aws-access-key-id", true, "AWS_ACCESS_KEY_ID").SecretOption("aws-session-token", false, "AWS_SESSION_TOKEN"),
			"dagger call --emulate-aws --aws-access-key-id=env:AWS_ACCESS_KEY_ID drift --env=prod export --path=./reports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cmd.String(); got != tt.want {
				t.Errorf("String() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// Adding to a command never changes the command it came from: functions build several
// lines from one base.
func TestCommandIsAValue(t *testing.T) {
	base := Call(nil, "restore-state").Flag("env", "prod")
	a := base.Flag("from", "latest")
	b := base.Bool("confirm", true)
	if base.String() != "dagger call restore-state --env=prod" || !strings.HasSuffix(a.String(), "--from=latest") ||
		strings.Contains(b.String(), "--from") {
		t.Errorf("base %q, a %q, b %q", base, a, b)
	}
}

// A failed run's error ends with its line, once, and still matches what it wraps.
func TestCommandWrap(t *testing.T) {
	cmd := Call([]string{"--emulate-aws"}, "apply").Flag("env", "prod").Secret("aws-access-key-id", true, "AWS_ACCESS_KEY_ID")
	line := "dagger call --emulate-aws apply --env=prod --aws-access-key-id=env:AWS_ACCESS_KEY_ID export --path=./apply"
	lock := errors.New("state lock held")
	tests := []struct {
		name string
		err  error
		want string // "" for a nil error
	}{
		{"nil stays nil", nil, ""},
		{"failure gets the line", fmt.Errorf("terraform apply failed in prod: %w", lock),
			"terraform apply failed in prod: state lock held\n\nReproduce with: " + line},
		{"summary already ends with it", errors.New("lint failed\n\n```shell\n" + line + "\n```\n"),
			"lint failed\n\n```shell\n" + line + "\n```\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cmd.Wrap(tt.err)
			if tt.want == "" {
				if got != nil {
					t.Fatalf("Wrap(nil) = %v", got)
				}
				return
			}
			if got.Error() != tt.want {
				t.Errorf("Wrap() =\n%s\nwant\n%s", got, tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("Wrap() no longer matches the error it wraps")
			}
			if again := cmd.Wrap(got); again.Error() != got.Error() {
				t.Errorf("wrapping twice repeats the line:\n%s", again)
			}
		})
	}
	if errors.Is(cmd.Wrap(errors.New("other")), lock) {
		t.Errorf("a wrapped error matches an unrelated one")
	}
}

// The line survives a real shell: every word comes back as it went in.
func TestCommandThroughShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("sh is not on PATH: %v", err)
	}
	words := []string{"--terraform-dir=infra live", "it's", "$HOME", "a`b`", "", "x;y"}
	cmd := Call(words[:1], "fn").Flag("a", words[1]).Flag("b", words[2]).Flag("c", words[3]).Flag("d", words[5])
	line := strings.Replace(cmd.String(), "dagger call", `printf '%s\n'`, 1)
	out, err := exec.Command(sh, "-c", line).Output()
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	want := "--terraform-dir=infra live\nfn\n--a=it's\n--b=$HOME\n--c=a`b`\n--d=x;y\n"
	if string(out) != want {
		t.Errorf("shell read\n%s\nwant\n%s", out, want)
	}
	if !strings.Contains(Call(nil, "fn").Flag("x", "```").Markdown(), "````shell\n") {
		t.Errorf("the fence must outgrow backticks in the line")
	}
}

func TestCodeBlock(t *testing.T) {
	tests := []struct{ lang, text, want string }{
		{"", "Error: exit 1", "```\nError: exit 1\n```\n"},
		{"shell", "dagger call lint", "```shell\ndagger call lint\n```\n"},
		{"", "see ```\n# injected", "````\nsee ```\n# injected\n````\n"},
		{"", "a ```` b", "`````\na ```` b\n`````\n"},
	}
	for _, tt := range tests {
		if got := CodeBlock(tt.lang, tt.text); got != tt.want {
			t.Errorf("CodeBlock(%q, %q) = %q, want %q", tt.lang, tt.text, got, tt.want)
		}
	}
}

func TestForContainers(t *testing.T) {
	const queue = "arn:aws:sqs:us-east-1:123456789012:shop-test-jobs"
	const bucket = "arn:aws:s3:::shop-test-assets"
	var found []discovery.Resource
	for _, arn := range []string{queue, bucket} {
		id, err := discovery.ParseARN(arn)
		if err != nil {
			t.Fatal(err)
		}
		if id.Type == discovery.SQSQueue {
			// As discovery builds it in the module's process: the engine-given address.
			if id.ID, err = discovery.QueueURL(arn, "http://10.87.0.4:5000"); err != nil {
				t.Fatal(err)
			}
		}
		found = append(found, discovery.Resource{ARN: arn, Identity: id})
	}
	tests := []struct {
		endpoint string
		want     string
	}{
		{"http://aws:5000", "http://aws:5000/123456789012/shop-test-jobs"},
		{"", "https://sqs.us-east-1.amazonaws.com/123456789012/shop-test-jobs"},
	}
	for _, tt := range tests {
		got, err := ForContainers(found, tt.endpoint)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].ID != tt.want || got[1].ID != found[1].ID {
			t.Errorf("endpoint %q: IDs %q, %q; want %q, %q", tt.endpoint, got[0].ID, got[1].ID, tt.want, found[1].ID)
		}
	}
	if found[0].ID != "http://10.87.0.4:5000/123456789012/shop-test-jobs" {
		t.Errorf("the input changed: %q", found[0].ID)
	}
	bad := []discovery.Resource{{ARN: "arn:aws:s3:::x", Identity: discovery.Identity{Type: discovery.SQSQueue}}}
	if _, err := ForContainers(bad, "http://aws:5000"); err == nil || !strings.Contains(err.Error(), "import ID of arn:aws:s3:::x") {
		t.Errorf("err = %v, want one naming the ARN", err)
	}
}

// A step that could not run is never a passed test case, whatever the environment makes of
// it; a blocking step fails with its report.
func TestJUnitCase(t *testing.T) {
	test, _ := environment.Default(environment.Test)
	prod, _ := environment.Default(environment.Prod)
	down := errors.New("moto did not answer")
	for _, tt := range []struct {
		name          string
		o             Outcome
		skip, failure bool
	}{
		{"passed", Outcome{Step: StepPlan, Verdict: gate.Pass}, false, false},
		{"warned after running", Outcome{Step: StepLint, Verdict: gate.Warn, Reasons: []string{"tflint: 2 finding(s) below CRITICAL"}}, false, false},
		{"could not run, warns in test", Broken(test, StepCost, down), true, false},
		{"could not run, blocks in prod", Broken(prod, StepCost, down), false, true},
		{"blocked", Outcome{Step: StepSecurityScan, Verdict: gate.Block, Reasons: []string{"1 finding at or above HIGH"}}, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := JUnitCase(environment.Test, StepReport{Outcome: tt.o, Markdown: "## report"})
			if (c.Skipped != "") != tt.skip || (c.Failure != "") != tt.failure {
				t.Errorf("case %+v: want skipped %v, failure %v", c, tt.skip, tt.failure)
			}
			if tt.skip && !strings.Contains(c.Skipped, "could not run: moto did not answer") {
				t.Errorf("skipped %q does not say why", c.Skipped)
			}
			if tt.o.Verdict == gate.Warn && !tt.o.CouldNotRun && c.Output != "warn: "+tt.o.Reasons[0] {
				t.Errorf("a step that warned has output %q, want its warning", c.Output)
			}
		})
	}
	// A warning inside a blocking step goes with its failure's output.
	blocked := Merge(Outcome{Step: StepSecurityScan, Verdict: gate.Block, Reasons: []string{"1 finding at or above HIGH"}}, Broken(test, StepSecurityScan, down))
	if c := JUnitCase(environment.Test, StepReport{Outcome: blocked, Markdown: "## report"}); c.Failure != "1 finding at or above HIGH" || !strings.HasPrefix(c.Output, "## report\n\nwarn: Security scan could not run") {
		t.Errorf("a blocking step with a warning: %+v", c)
	}
	data, err := report.JUnit([]report.Suite{{Name: "pipeline test", Cases: []report.Case{JUnitCase(environment.Test, StepReport{Outcome: Broken(test, StepCost, down)})}}})
	if err != nil || !strings.Contains(string(data), `skipped="1"`) || !strings.Contains(string(data), "<skipped message=") {
		t.Errorf("junit.xml of a step that could not run:\n%s (%v)", data, err)
	}
}

// A recorded step's case takes the time the recorder measured from its Begin to its Add;
// junit.xml says it in seconds, and a suite's time is its cases'.
func TestJUnitCaseTime(t *testing.T) {
	test, _ := environment.Default(environment.Test)
	rec := NewRecorder(test, time.Now())
	rec.Begin(StepPlan)
	time.Sleep(20 * time.Millisecond)
	rec.Add(StepReport{Outcome: Outcome{Step: StepPlan, Verdict: gate.Pass}})
	rec.Add(StepReport{Outcome: Outcome{Step: StepLint, Verdict: gate.Pass}}) // never began: timed from the run's start
	steps := rec.Steps()
	plan := JUnitCase(environment.Test, steps[0])
	if plan.Time < 20*time.Millisecond {
		t.Errorf("plan case time %v, want at least the 20ms between Begin and Add", plan.Time)
	}
	if lint := JUnitCase(environment.Test, steps[1]); lint.Time < plan.Time {
		t.Errorf("lint case time %v: a step that never began is timed from the run's start, before plan's %v", lint.Time, plan.Time)
	}
	if c := JUnitCase(environment.Test, StepReport{Outcome: Outcome{Step: StepCost}}); c.Time != 0 {
		t.Errorf("an untimed step has time %v, want 0", c.Time)
	}
	data, err := report.JUnit([]report.Suite{{Name: "pipeline test", Cases: []report.Case{plan}}})
	if err != nil || strings.Contains(string(data), `time="0.000"`) {
		t.Errorf("junit.xml of a timed step:\n%s (%v)", data, err)
	}
}
