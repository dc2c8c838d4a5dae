package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/planstore"
	"github.com/infrapipe/infrapipe/ci/stacks"
)

const (
	refA = "plans/prod/20261207T090000Z-aaaa.tfplan"
	refB = "plans/prod/20261207T090001Z-bbbb.tfplan"
)

var (
	shaA = strings.Repeat("a", 64)
	shaB = strings.Repeat("b", 64)
)

// --plans takes the first phase's plans output as it is, or typed with spaces or lines,
// and names the entry and the form in every refusal.
func TestParsePlans(t *testing.T) {
	want := Plans{"stacks/a": {refA, shaA}, "stacks/b": {refB, shaB}}
	for _, tt := range []struct {
		name, in, wantErr string
	}{
		{"the output", "stacks/a=" + refA + "@" + shaA + ",stacks/b=" + refB + "@" + shaB, ""},
		{"lines and spaces", "\nstacks/b=" + refB + "@" + shaB + "\n  stacks/a=" + refA + "@" + shaA + " \n", ""},
		{"empty", " , ", "--plans is empty: give the first phase's plans output (<stack>=<plan-ref>@<sha256>"},
		{"no =", refA + "@" + shaA, `has no =: give <stack>=<plan-ref>@<sha256>`},
		{"no @", "stacks/a=" + refA, "has no @ before the plan's SHA-256"},
		{"no stack", "=" + refA + "@" + shaA, "does not start with a stack directory"},
		{"outside the repository", "../x=" + refA + "@" + shaA, "does not start with a stack directory"},
		{"absolute", "/x=" + refA + "@" + shaA, "does not start with a stack directory"},
		{"bad ref", "stacks/a=plans/qa/x.tfplan@" + shaA, `--plans entry of "stacks/a": --plan-ref "plans/qa/x.tfplan" is not a stored plan reference`},
		{"bad hash", "stacks/a=" + refA + "@abc", `--plans entry of "stacks/a": --plan-sha256 "abc" is not a SHA-256`},
		{"twice", "stacks/a=" + refA + "@" + shaA + ",stacks/a=" + refB + "@" + shaB, "names a stack a second time"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePlans(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePlans = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.String() != want.String() || len(got) != 2 {
				t.Fatalf("ParsePlans = %v, %v; want %v", got, err, want)
			}
			again, err := ParsePlans(got.String())
			if err != nil || again.String() != got.String() {
				t.Errorf("String does not read back: %q (%v)", again.String(), err)
			}
		})
	}
}

// A stack directory is read as --stacks reads one: it may hold a space, and a trailing
// slash names the same stack.
func TestParsePlansStackNames(t *testing.T) {
	p, err := ParsePlans("stacks/net work=" + refA + "@" + shaA + "\nstacks/b/=" + refB + "@" + shaB)
	if err != nil || p["stacks/net work"].Ref != refA || p["stacks/b"].Ref != refB {
		t.Fatalf("ParsePlans = %v, %v", p, err)
	}
	if again, err := ParsePlans(p.String()); err != nil || again.String() != p.String() {
		t.Errorf("%q reads back as %v, %v", p.String(), again, err)
	}
}

// Whatever --plans holds, ParsePlans returns plans whose String reads back the same, or an
// error that names --plans.
func FuzzParsePlans(f *testing.F) {
	f.Add("stacks/a=" + refA + "@" + shaA + ",stacks/b=" + refB + "@" + shaB)
	f.Add("a=b@c=d@e")
	f.Add("=\n@,")
	f.Add("stacks/net work/=" + refA + "@" + shaA)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePlans(s)
		if err != nil {
			if !strings.Contains(err.Error(), "--plans") {
				t.Fatalf("an error that does not name --plans: %v", err)
			}
			return
		}
		again, err := ParsePlans(p.String())
		if err != nil || again.String() != p.String() || len(again) != len(p) {
			t.Fatalf("%q reads back as %q (%v)", p.String(), again.String(), err)
		}
	})
}

// A second phase of several stacks: --plans names the stacks unless --stacks names the same
// ones, refuses what contradicts it, and gives each stack that is not held its own plan.
func TestSettlePlans(t *testing.T) {
	plans := "stacks/b=" + refB + "@" + shaB + ",stacks/a=" + refA + "@" + shaA
	f, err := Flags{Env: "prod", Plans: plans}.Settle()
	if err != nil || f.Stacks != "stacks/a,stacks/b" || f.MaxParallel != DefaultMaxParallel {
		t.Fatalf("Settle = %+v, %v", f, err)
	}
	if _, err := (Flags{Env: "prod", Plans: plans, Stacks: "stacks/b/, stacks/a"}).Settle(); err != nil {
		t.Errorf("--stacks naming the plans' stacks: %v", err)
	}
	for _, tt := range []struct {
		name    string
		f       Flags
		wantErr string
	}{
		{"other stacks", Flags{Stacks: "stacks/a"}, `--plans applies the stored plans of the stacks it names (stacks/a, stacks/b), and --stacks "stacks/a" takes others`},
		{"all", Flags{Stacks: stacks.AllStacks}, "--plans applies the stored plans of the stacks it names"},
		{"store-plan", Flags{StorePlan: true}, "give one of --store-plan (first phase) and --plans (second phase)"},
		{"plan-ref", Flags{PlanRef: refA}, "leave out --plan-ref and --plan-sha256"},
		{"changed files", Flags{ChangedFiles: true}, "leave out --changed-files"},
		{"dry run", Flags{DryRun: true}, "--plans applies stored plans, and this run is a dry run"},
		{"a pull request", Flags{Event: "pull_request"}, "--plans applies stored plans, and this run is a dry run"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Env, tt.f.Plans = "prod", plans
			if _, err := tt.f.Settle(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Settle = %v, want %q", err, tt.wantErr)
			}
		})
	}
	a := f.ForStack("stacks/a", false)
	if a.PlanRef != refA || a.PlanSHA256 != shaA || a.Plans != "" || a.StackPlans != nil || a.Stacks != "" {
		t.Errorf("ForStack(stacks/a) = %+v", a)
	}
	if _, err := a.Settle(); err != nil {
		t.Errorf("the stack's own run refuses its flags: %v", err)
	}
	if held := f.ForStack("stacks/b", true); held.PlanRef != "" || held.PlanSHA256 != "" || !held.DryRun {
		t.Errorf("a held stack applies its plan: %+v", held)
	}
	if other := f.ForStack("stacks/c", false); other.PlanRef != "" || !other.DryRun {
		t.Errorf("a stack without a stored plan is applied: %+v", other)
	}
	if err := f.StacksError(errors.New(`--stacks: "stacks/a" is not a stack`)); err == nil || !strings.HasPrefix(err.Error(), "--plans names a stack the repository does not have") {
		t.Errorf("StacksError = %v", err)
	}
	if err := (Flags{Stacks: "x"}).StacksError(errors.New("e")); err == nil || err.Error() != "e" {
		t.Errorf("StacksError without --plans = %v", err)
	}
	if got := f.Reproduce(Call(nil, "pipeline").Flag("env", "prod"), false).String(); !strings.Contains(got, "--plans=stacks/a="+refA+"@"+shaA+",stacks/b=") {
		t.Errorf("Reproduce = %s", got)
	}
}

// A --store-plan run of several stacks: each stack's own report (as Report.Files writes it)
// gives its stored plan; the combined result has them as the plans output, which --plans
// reads back, and the summary lists each with its hash.
func TestStacksStoredPlans(t *testing.T) {
	var runs []StackRun
	for _, s := range []struct{ dir, run string }{{"stacks/a", "aaaa"}, {"stacks/b", "bbbb"}} {
		p := realPlan(t, environment.Staging)
		ref := planstore.NewRef(environment.Staging, time.Now(), s.run)
		p.Stored(ref, planstore.Meta{Env: environment.Staging, Stack: s.dir, SHA256: strings.Repeat(s.run[:1], 64)}, "apply")
		list, _, err := (&Report{Run: Run{Env: environment.Staging, Stack: s.dir}, Plan: p}).Files()
		if err != nil {
			t.Fatal(err)
		}
		fs := files(t, list)
		r, _, err := ReadStackReport(StackRun{Stack: s.dir}, func(name string) ([]byte, bool, error) {
			data, ok := fs[name]
			return []byte(data), ok, nil
		})
		if err != nil || r.Stored == nil || r.Stored.Ref != ref.Key() {
			t.Fatalf("ReadStackReport(%s) = %+v, %v", s.dir, r.Stored, err)
		}
		runs = append(runs, r)
	}
	res := NewStacksResult(environment.Staging, true, runs, nil)
	plans, err := ParsePlans(res.Outputs["plans"])
	if err != nil || len(plans) != 2 || plans["stacks/b"] != *runs[1].Stored {
		t.Fatalf("plans output %q reads as %v, %v", res.Outputs["plans"], plans, err)
	}
	h := StacksHeader(res)
	if !strings.Contains(h, "**Stored for the second phase:**") || !strings.Contains(h, "- `stacks/a`: `"+runs[0].Stored.Ref+"`, SHA-256 `"+shaA+"`") ||
		!strings.Contains(h, res.Outputs["plans"]) {
		t.Errorf("header:\n%s", h)
	}
	if strings.Contains(h, "--force-recreate") {
		t.Errorf("the second phase's line has --force-recreate the first phase did not:\n%s", h)
	}
	res.ForceRecreate = true
	if h := StacksHeader(res); !strings.Contains(h, "`pipeline --env=staging --plans=<plans> --force-recreate`") {
		t.Errorf("the second phase's line lacks the first phase's --force-recreate:\n%s", h)
	}
	if _, ok := NewStacksResult(environment.Staging, true, []StackRun{{Stack: "x"}}, nil).Outputs["plans"]; ok {
		t.Error("a run that stored nothing has a plans output")
	}
}
