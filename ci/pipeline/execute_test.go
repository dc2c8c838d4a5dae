package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/cost"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/plan"
	"github.com/infrapipe/infrapipe/ci/policy"
)

const (
	stackV1 = `resource "terraform_data" "app" {
  input            = "v1"
  triggers_replace = ["v1"]
}
`
	stackV2 = `resource "terraform_data" "app" {
  input            = "v1"
  triggers_replace = ["v2"]
}
`
)

// realPlans are plans made by Terraform: none changes nothing, create creates the stack,
// replace replaces its resource (which prod's gate blocks without --force-recreate).
func realPlans(t *testing.T) (none, create, replace *plan.Analysis) {
	t.Helper()
	analyse := func(data []byte) *plan.Analysis {
		a, err := plan.Analyze(strings.NewReader(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	none = analyse(tftest.New(t, nil).PlanChange(stackV1, stackV1))
	create = analyse(tftest.New(t, nil).PlanChange("", stackV1))
	replace = analyse(tftest.New(t, nil).PlanChange(stackV1, stackV2))
	if none.Counts.HasChanges() || !create.Counts.HasChanges() || !replace.Counts.HasChanges() {
		t.Fatalf("plans: none %+v, create %+v, replace %+v", none.Counts, create.Counts, replace.Counts)
	}
	return none, create, replace
}

// script is a run's step functions as the test wants them to behave: each logs when it
// starts and ends, and returns an outcome made by this package's own judges.
type script struct {
	t       *testing.T
	profile environment.Profile
	plan    Plan
	rec     *Recorder
	planned Planned
	verdict map[Step]gate.Verdict // a check's verdict; pass unless given
	err     map[Step]error        // the step's function fails with it
	// waitFor holds a step back until well after another one ended, e.g. a scan that
	// finishes last, so a wrong order shows every time rather than by chance.
	waitFor  map[Step]Step
	storeErr error

	mu    sync.Mutex
	log   []string
	ended map[Step]chan struct{}
}

func (s *script) note(event string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, event)
}

// run logs a step's start and end around what it does.
func (s *script) run(step Step, do func() (StepReport, error)) (StepReport, error) {
	s.note("start " + string(step))
	defer func() {
		s.note("end " + string(step))
		close(s.ended[step])
	}()
	if other, ok := s.waitFor[step]; ok {
		select {
		case <-s.ended[other]:
			time.Sleep(100 * time.Millisecond)
		case <-time.After(20 * time.Second):
			s.t.Errorf("%s waited for %s, which never ended", step, other)
		}
	}
	if err := s.err[step]; err != nil {
		return StepReport{}, err
	}
	return do()
}

func (s *script) check(step Step) func(context.Context) (StepReport, error) {
	return func(context.Context) (StepReport, error) {
		return s.run(step, func() (StepReport, error) { return StepReport{Outcome: s.outcome(step)}, nil })
	}
}

// outcome is what the step's judge says of output that has the verdict the test asks for.
func (s *script) outcome(step Step) Outcome {
	v := s.verdict[step]
	if v == "" {
		v = gate.Pass
	}
	var o Outcome
	switch step {
	case StepLint:
		var unformatted []string
		if v == gate.Block {
			unformatted = []string{"main.tf"}
		}
		o = LintOutcome(unformatted, "", nil, LintFailAt)
	case StepSecurityScan, StepCompliance:
		var fs []findings.Finding
		if v == gate.Block {
			fs = []findings.Finding{{Tool: "checkov", RuleID: "CKV_AWS_20", Severity: findings.Critical, Resource: "aws_s3_bucket.data", Message: "S3 bucket is public"}}
		}
		o, _ = FindingsOutcome(step, fs, s.profile.SeverityThreshold)
	case StepCost:
		res := cost.Evaluate(cost.Report{}, environment.Budget{}, 5)
		if v != gate.Pass {
			res = cost.NotEvaluatedResult("no INFRACOST_API_KEY", environment.Budget{RequireEstimate: v == gate.Block})
		}
		o = CostOutcome(res)
	case StepTests:
		var failed []string
		if v == gate.Block {
			failed = []string{"http: GET / answered 500"}
		}
		o = TestsOutcome(failed)
	case StepApply:
		o = Outcome{Step: StepApply, Verdict: gate.Pass}
	}
	if o.Verdict != v {
		s.t.Fatalf("the script cannot make %s %s (got %s)", step, v, o.Verdict)
	}
	return o
}

func (s *script) steps() Steps {
	return Steps{
		Lint:         s.check(StepLint),
		SecurityScan: s.check(StepSecurityScan),
		Plan: func(context.Context) (Planned, error) {
			// As the module's: the import's time runs on through the plan that imports.
			if s.plan.Runs(StepImport) {
				s.rec.Begin(StepImport)
			}
			s.rec.Begin(StepPlan)
			_, err := s.run(StepPlan, func() (StepReport, error) { return StepReport{}, nil })
			if err != nil {
				return Planned{}, err
			}
			if s.plan.Runs(StepImport) {
				s.rec.Add(StepReport{Outcome: Outcome{Step: StepImport, Verdict: gate.Pass}})
			}
			return s.planned, nil
		},
		Compliance: s.check(StepCompliance),
		Cost:       s.check(StepCost),
		Apply:      s.check(StepApply),
		Tests:      s.check(StepTests),
	}
}

// Execute's order, over plans made by Terraform: whatever order the steps finish in,
// nothing is stored or applied before every check has finished and none blocked.
func TestExecute(t *testing.T) {
	none, create, replace := realPlans(t)
	down := errors.New("checkov: exit status 2")
	tests := []struct {
		name          string
		env           string
		opts          Options
		analysis      *plan.Analysis
		testUnchanged bool
		store         bool // the first phase: store the plan
		storeErr      error
		stored        bool // the plan was handed to Store
		verdict       map[Step]gate.Verdict
		err           map[Step]error
		waitFor       map[Step]Step
		// want are the recorded steps in report order, each step:verdict.
		want string
	}{
		{name: "prod passes: every step, tests after the apply", env: "prod", opts: Options{Project: "shop"}, analysis: create,
			want: "Lint:pass Security scan:pass Import:pass Plan:pass Compliance:pass Cost:pass Apply:pass Post-deploy tests:pass"},
		{name: "a blocking scan that ends after cost still holds the apply", env: "prod", analysis: create,
			verdict: map[Step]gate.Verdict{StepSecurityScan: gate.Block}, waitFor: map[Step]Step{StepSecurityScan: StepCost},
			want: "Lint:pass Security scan:block Plan:pass Compliance:pass Cost:pass"},
		{name: "lint that ends last is still waited for", env: "prod", analysis: create,
			waitFor: map[Step]Step{StepLint: StepCost},
			want:    "Lint:pass Security scan:pass Plan:pass Compliance:pass Cost:pass Apply:pass Post-deploy tests:pass"},
		{name: "a scan that could not run blocks prod", env: "prod", analysis: create, err: map[Step]error{StepSecurityScan: down},
			want: "Lint:pass Security scan:block Plan:pass Compliance:pass Cost:pass"},
		{name: "a cost step that could not run warns in staging and the apply goes on", env: "staging", analysis: create,
			err:  map[Step]error{StepCost: down},
			want: "Lint:pass Security scan:pass Plan:pass Compliance:pass Cost:warn Apply:pass Post-deploy tests:pass"},
		{name: "cost without an estimate warns", env: "staging", analysis: create, verdict: map[Step]gate.Verdict{StepCost: gate.Warn},
			want: "Lint:pass Security scan:pass Plan:pass Compliance:pass Cost:warn Apply:pass Post-deploy tests:pass"},
		// A policy that does not compile is the repository's to fix, not a tool that could
		// not run: it blocks outside prod too, and nothing is applied unchecked.
		{name: "a policy that does not compile blocks staging", env: "staging", analysis: create,
			err:  map[Step]error{StepCompliance: fmt.Errorf("opa eval: %w", policy.Errors{{Code: "rego_parse_error", Message: "unexpected eof token", File: "terraform/policies/broken.rego", Row: 5}})},
			want: "Lint:pass Security scan:pass Plan:pass Compliance:block Cost:pass"},
		{name: "blocking compliance holds the apply", env: "prod", analysis: create, verdict: map[Step]gate.Verdict{StepCompliance: gate.Block},
			waitFor: map[Step]Step{StepCompliance: StepCost},
			want:    "Lint:pass Security scan:pass Plan:pass Compliance:block Cost:pass"},
		{name: "a failed plan runs nothing after it", env: "prod", opts: Options{Project: "shop"}, analysis: create,
			err:  map[Step]error{StepPlan: errors.New("terraform plan: exit status 1")},
			want: "Lint:pass Security scan:pass Plan:block"},
		{name: "the gate blocks a prod replace: checks run, nothing is applied", env: "prod", analysis: replace,
			want: "Lint:pass Security scan:pass Plan:block Compliance:pass Cost:pass"},
		{name: "no changes: applied, not tested", env: "test", analysis: none,
			want: "Lint:pass Security scan:pass Plan:pass Apply:pass"},
		{name: "no changes, tested with testUnchanged", env: "test", analysis: none, testUnchanged: true,
			want: "Lint:pass Security scan:pass Plan:pass Apply:pass Post-deploy tests:pass"},
		{name: "skip tests", env: "test", opts: Options{SkipTests: true}, analysis: create,
			want: "Lint:pass Security scan:pass Plan:pass Apply:pass"},
		{name: "failing tests block", env: "test", analysis: create, verdict: map[Step]gate.Verdict{StepTests: gate.Block},
			want: "Lint:pass Security scan:pass Plan:pass Apply:pass Post-deploy tests:block"},
		{name: "tests that could not run block prod", env: "prod", analysis: create, err: map[Step]error{StepTests: down},
			want: "Lint:pass Security scan:pass Plan:pass Compliance:pass Cost:pass Apply:pass Post-deploy tests:block"},
		{name: "a failed apply blocks and is not tested", env: "test", analysis: create, err: map[Step]error{StepApply: errors.New("terraform apply: exit status 1")},
			want: "Lint:pass Security scan:pass Plan:pass Apply:block"},
		{name: "a dry run never applies", env: "prod", opts: Options{DryRun: true}, analysis: create,
			want: "Lint:pass Security scan:pass Plan:pass Compliance:pass Cost:pass"},
		{name: "the first phase stores the plan once every check passed", env: "prod", opts: Options{DryRun: true}, analysis: create, store: true, stored: true,
			waitFor: map[Step]Step{StepLint: StepCost},
			want:    "Lint:pass Security scan:pass Plan:pass Compliance:pass Cost:pass"},
		{name: "a blocked plan is not stored", env: "prod", opts: Options{DryRun: true}, analysis: create, store: true,
			verdict: map[Step]gate.Verdict{StepLint: gate.Block},
			want:    "Lint:block Security scan:pass Plan:pass Compliance:pass Cost:pass"},
		{name: "a plan that cannot be stored fails the plan", env: "prod", opts: Options{DryRun: true}, analysis: create, store: true,
			storeErr: errors.New("s3: access denied"), stored: true,
			want: "Lint:pass Security scan:pass Plan:pass Plan:block Compliance:pass Cost:pass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := profile(t, tt.env)
			started := time.Now()
			s := &script{t: t, profile: p, plan: NewPlan(p, tt.opts), rec: NewRecorder(p, started),
				planned: Planned{Analysis: tt.analysis, Decision: gate.Decide(tt.analysis, p, gate.Options{})},
				verdict: tt.verdict, err: tt.err, waitFor: tt.waitFor, storeErr: tt.storeErr, ended: map[Step]chan struct{}{}}
			for _, step := range Order {
				s.ended[step] = make(chan struct{})
			}
			steps := s.steps()
			if tt.store {
				steps.Store = func(context.Context) error {
					s.note("store")
					return s.storeErr
				}
			}
			Execute(context.Background(), s.plan, tt.testUnchanged, steps, s.rec)

			rep := Report{Steps: s.rec.Steps()}
			var got []string
			for _, o := range rep.Outcomes() {
				got = append(got, fmt.Sprintf("%s:%s", o.Step, o.Verdict))
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("recorded\n %s\nwant\n %s", g, tt.want)
			}
			assertOrder(t, s.log, s.plan)
			if stored := slices.Contains(s.log, "store"); stored != tt.stored {
				t.Errorf("stored = %v; log %q", stored, s.log)
			}
			for _, r := range rep.Steps {
				if r.Started.Before(started) || r.Ended.Before(r.Started) {
					t.Errorf("%s timed %v to %v, run started %v", r.Step, r.Started, r.Ended, started)
				}
			}
		})
	}
}

// assertOrder checks the log for the safety property: the plan's checks end before the
// plan is stored or applied, and the tests start after the apply ended.
func assertOrder(t *testing.T, log []string, p Plan) {
	t.Helper()
	at := func(e string) int { return slices.Index(log, e) }
	for _, later := range []string{"store", "start " + string(StepApply)} {
		if at(later) < 0 {
			continue
		}
		for _, check := range []Step{StepLint, StepSecurityScan, StepPlan, StepCompliance, StepCost} {
			if end := at("end " + string(check)); p.Runs(check) && (end < 0 || end > at(later)) {
				t.Errorf("%q before %s ended: %q", later, check, log)
			}
		}
	}
	if start := at("start " + string(StepTests)); start >= 0 && (at("end "+string(StepApply)) < 0 || start < at("end "+string(StepApply))) {
		t.Errorf("tests started before the apply ended: %q", log)
	}
}

// A step's time runs from its Begin, or from the run's start when it never began, to its
// Add; Broken and Failed judge as ci/pipeline does, and Blocked follows the verdicts.
func TestRecorder(t *testing.T) {
	test, prod := profile(t, "test"), profile(t, "prod")
	started := time.Now().Add(-time.Minute)
	down := errors.New("tfsec: exit status 2")
	for _, tt := range []struct {
		name        string
		profile     environment.Profile
		record      func(*Recorder)
		want        []Outcome
		blocked     bool
		startsAtRun bool // the step's time starts with the run
	}{
		{"a step without Begin starts with the run", test, func(r *Recorder) {
			r.Add(StepReport{Outcome: Outcome{Step: StepPlan, Verdict: gate.Pass}})
		}, []Outcome{{Step: StepPlan, Verdict: gate.Pass}}, false, true},
		{"a step starts at its Begin", test, func(r *Recorder) {
			r.Begin(StepLint)
			r.Add(StepReport{Outcome: LintOutcome(nil, "", nil, LintFailAt)})
		}, []Outcome{{Step: StepLint, Verdict: gate.Pass}}, false, false},
		{"broken warns in test", test, func(r *Recorder) { r.Broken(StepSecurityScan, down) },
			[]Outcome{Broken(test, StepSecurityScan, down)}, false, true},
		{"broken blocks in prod", prod, func(r *Recorder) { r.Broken(StepSecurityScan, down) },
			[]Outcome{Broken(prod, StepSecurityScan, down)}, true, true},
		{"failed blocks in test", test, func(r *Recorder) { r.Failed(StepApply, down) },
			[]Outcome{{Step: StepApply, Verdict: gate.Block, Reasons: []string{down.Error()}}}, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRecorder(tt.profile, started)
			tt.record(r)
			got := r.Outcomes()
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("outcomes %+v, want %+v", got, tt.want)
			}
			if r.Blocked() != tt.blocked {
				t.Errorf("blocked = %v", r.Blocked())
			}
			s := r.Steps()[0]
			if s.Started.Equal(started) != tt.startsAtRun || s.Ended.Before(s.Started) {
				t.Errorf("timed %v to %v, run started %v", s.Started, s.Ended, started)
			}
			if s.Markdown == "" && s.CouldNotRun {
				t.Error("a step that could not run has no section saying why")
			}
		})
	}
}

// Steps recorded from many goroutines at once are all kept (go test -race).
func TestRecorderConcurrent(t *testing.T) {
	r := NewRecorder(profile(t, "test"), time.Now())
	var g sync.WaitGroup
	for i := range 50 {
		g.Add(1)
		go func() {
			defer g.Done()
			s := Order[i%len(Order)]
			r.Begin(s)
			r.Add(StepReport{Outcome: Outcome{Step: s, Verdict: gate.Pass}})
			_ = r.Blocked()
		}()
	}
	g.Wait()
	if n := len(r.Steps()); n != 50 {
		t.Errorf("%d steps recorded, want 50", n)
	}
}

// A blocked plan's warnings are reported as warnings beside its blocks, not under them (a
// real decision: a replace blocked in prod beside a forget).
func TestPlanOutcomeKeepsWarningsApart(t *testing.T) {
	a := &plan.Analysis{Changes: []plan.Change{
		{Address: "aws_sqs_queue.jobs", Type: "aws_sqs_queue", Mode: "managed", Kind: plan.Forget},
		{Address: "terraform_data.x", Type: "terraform_data", Mode: "managed", Kind: plan.ReplaceDeleteFirst},
	}}
	p, err := environment.Default(environment.Prod)
	if err != nil {
		t.Fatal(err)
	}
	o := planOutcome(gate.Decide(a, p, gate.Options{}))
	if o.Verdict != gate.Block || len(o.Reasons) != 1 || !strings.Contains(o.Reasons[0], "replaces terraform_data.x") ||
		len(o.Warnings) != 1 || !strings.Contains(o.Warnings[0], "forgets aws_sqs_queue.jobs") {
		t.Errorf("outcome %s, reasons %q, warnings %q", o.Verdict, o.Reasons, o.Warnings)
	}
	if o := planOutcome(gate.Decide(&plan.Analysis{Changes: a.Changes[:1]}, p, gate.Options{})); o.Verdict != gate.Warn || len(o.Reasons) != 1 || len(o.Warnings) != 0 {
		t.Errorf("a plan that only warns: %s %q %q", o.Verdict, o.Reasons, o.Warnings)
	}
}
