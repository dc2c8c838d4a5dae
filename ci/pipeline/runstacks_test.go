package pipeline

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/report"
	"github.com/infrapipe/infrapipe/ci/stacks"
)

// TestRunStacks runs four stacks through a runner that returns real stack reports: the
// blocked network stack holds app, which depends on it and runs as a dry run; dns, which
// depends on nothing, runs as asked; a stack whose pipeline returned no report blocks with
// its error, and the combined summary points at no report of its own.
func TestRunStacks(t *testing.T) {
	plan := realPlan(t, environment.Prod)
	reportFiles := func(v gate.Verdict, reasons ...string) []string {
		r := Report{Run: Run{Env: environment.Prod}, Plan: plan,
			Steps: []StepReport{{Outcome: Outcome{Step: StepPlan, Verdict: v, Reasons: reasons}}}}
		list, _, err := r.Files()
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	blocked, passed := reportFiles(gate.Block, "prod plan deletes terraform_data.old"), reportFiles(gate.Pass)
	sel := stacks.Selection{Stacks: []stacks.Selected{
		{Stack: stacks.Stack{Dir: "stacks/network"}},
		{Stack: stacks.Stack{Dir: "stacks/app", DependsOn: []string{"stacks/network"}, Level: 1}, Why: []string{"depends on stacks/network"}},
		{Stack: stacks.Stack{Dir: "stacks/dns"}},
		{Stack: stacks.Stack{Dir: "stacks/broken"}},
	}}
	var mu sync.Mutex
	ran := map[string]Flags{}
	runs, own, err := RunStacks(sel, Flags{Env: "prod", MaxParallel: 2}, func(s stacks.Selected, f Flags) (environment.ReadFile, error) {
		mu.Lock()
		ran[s.Dir] = f
		mu.Unlock()
		switch s.Dir {
		case "stacks/network":
			return reportOnDisk(t, blocked), nil
		case "stacks/broken":
			return nil, errors.New("terraform init failed in prod (exit code 1):\nno such bucket\nReproduce with: dagger call pipeline --env=prod")
		}
		return reportOnDisk(t, passed), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stack   string
		dryRun  bool
		verdict gate.Verdict
		held    []string
		reasons []string
		report  string
	}{
		{"stacks/network", false, gate.Block, nil, []string{"Plan: prod plan deletes terraform_data.old"}, "stacks/stacks/network/"},
		{"stacks/app", true, gate.Pass, []string{"stacks/network"}, []string{}, "stacks/stacks/app/"},
		{"stacks/dns", false, gate.Pass, nil, []string{}, "stacks/stacks/dns/"},
		{"stacks/broken", false, gate.Block, nil, []string{"terraform init failed in prod (exit code 1):"}, ""},
	} {
		i := slices.IndexFunc(runs, func(r StackRun) bool { return r.Stack == tc.stack })
		if i < 0 {
			t.Fatalf("no row for %s in %+v", tc.stack, runs)
		}
		r, f := runs[i], ran[tc.stack]
		if f.DryRun != tc.dryRun || !f.ReportOnFailure {
			t.Errorf("%s ran with dry run %v, report on failure %v; want %v, true", tc.stack, f.DryRun, f.ReportOnFailure, tc.dryRun)
		}
		if r.Verdict != tc.verdict || !slices.Equal(r.Held, tc.held) || !slices.Equal(r.Reasons, tc.reasons) || r.Report != tc.report {
			t.Errorf("%s: row %+v; want verdict %s, held %v, reasons %q, report %q", tc.stack, r, tc.verdict, tc.held, tc.reasons, tc.report)
		}
		if (own[i].SARIF != nil) != (tc.report != "") {
			t.Errorf("%s: own SARIF taken %v, want %v", tc.stack, own[i].SARIF != nil, tc.report != "")
		}
	}
	summary := StacksSummary(report.MaxMarkdown, NewStacksResult(environment.Prod, false, runs, nil), Call(nil, "pipeline"))
	if !strings.Contains(summary, "Its own report: `stacks/stacks/app/`") || strings.Count(summary, "Its own report:") != 3 {
		t.Errorf("the summary points at %d reports, want the three that came back:\n%s", strings.Count(summary, "Its own report:"), summary)
	}
}

// changingStacks are the report files of a stack whose real plan passes and changes
// something, and three stacks: stacks/app depends on stacks/network, stacks/dns on none.
func changingStacks(t *testing.T) ([]string, stacks.Selection) {
	t.Helper()
	r := Report{Run: Run{Env: environment.Prod}, Plan: realPlan(t, environment.Prod),
		Steps: []StepReport{{Outcome: Outcome{Step: StepPlan, Verdict: gate.Pass}}}}
	changes, _, err := r.Files()
	if err != nil {
		t.Fatal(err)
	}
	return changes, stacks.Selection{Stacks: []stacks.Selected{
		{Stack: stacks.Stack{Dir: "stacks/network"}},
		{Stack: stacks.Stack{Dir: "stacks/app", DependsOn: []string{"stacks/network"}, Level: 1}},
		{Stack: stacks.Stack{Dir: "stacks/dns"}},
	}}
}

// With --store-plan, a stack that depends on one whose plan changes something is held: its
// plan would be made on what that stack is before phase two applies it, so it is not
// stored. Without --store-plan it runs as usual. The combined outputs say whether anything
// changes.
func TestRunStacksStorePlanHoldsDependents(t *testing.T) {
	changes, sel := changingStacks(t)
	blockedPlan := Report{Run: Run{Env: environment.Prod}, Plan: realPlan(t, environment.Prod),
		Steps: []StepReport{{Outcome: Outcome{Step: StepPlan, Verdict: gate.Block, Reasons: []string{"deletes"}}}}}
	blocked, _, err := blockedPlan.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		storePlan     bool
		networkBlocks bool
		held          []string // app's
		note          string   // app's HeldNote
	}{
		{"store-plan", true, false, []string{"stacks/network"}, HeldForStorePlan},
		{"store-plan, network blocks", true, true, []string{"stacks/network"}, ""},
		{"a deploy", false, false, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			ran := map[string]Flags{}
			runs, _, err := RunStacks(sel, Flags{Env: "prod", StorePlan: tc.storePlan, DryRun: tc.storePlan, MaxParallel: 2},
				func(s stacks.Selected, f Flags) (environment.ReadFile, error) {
					mu.Lock()
					ran[s.Dir] = f
					mu.Unlock()
					if tc.networkBlocks && s.Dir == "stacks/network" {
						return reportOnDisk(t, blocked), nil
					}
					return reportOnDisk(t, changes), nil
				})
			if err != nil {
				t.Fatal(err)
			}
			app := runs[slices.IndexFunc(runs, func(r StackRun) bool { return r.Stack == "stacks/app" })]
			if !slices.Equal(app.Held, tc.held) || app.HeldNote != tc.note {
				t.Errorf("app held %v (%q); want %v (%q)", app.Held, app.HeldNote, tc.held, tc.note)
			}
			for stack, store := range map[string]bool{"stacks/network": tc.storePlan, "stacks/dns": tc.storePlan, "stacks/app": false} {
				if ran[stack].StorePlan != store {
					t.Errorf("%s ran with store-plan %v, want %v", stack, ran[stack].StorePlan, store)
				}
			}
			res := NewStacksResult(environment.Prod, tc.storePlan, runs, nil)
			if res.Outputs["has_changes"] != "true" || !app.Changes {
				t.Errorf("has_changes %q, app's %v; want true", res.Outputs["has_changes"], app.Changes)
			}
			summary := StacksSummary(report.MaxMarkdown, res, Call(nil, "pipeline"))
			if held := strings.Contains(summary, "plan it again once they are applied"); held != (tc.note != "") {
				t.Errorf("summary says app waits for an apply: %v, want %v:\n%s", held, tc.note != "", summary)
			}
		})
	}
}

// A second phase (--plans): each stack applies its own stored plan; a stack whose
// dependency's plan changes something is held, as in the first phase (its plan may come
// from another first phase, made before that change), and applies nothing; a stack the
// plans do not name is a dry run.
func TestRunStacksSecondPhase(t *testing.T) {
	changes, sel := changingStacks(t)
	sel.Stacks = append(sel.Stacks, stacks.Selected{Stack: stacks.Stack{Dir: "stacks/extra"}})
	f, err := Flags{Env: "prod", Plans: "stacks/network=" + refA + "@" + shaA + ",stacks/app=" + refB + "@" + shaB +
		",stacks/dns=plans/prod/20261207T090002Z-cccc.tfplan@" + strings.Repeat("c", 64)}.Settle()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ran := map[string]Flags{}
	runs, _, err := RunStacks(sel, f, func(s stacks.Selected, f Flags) (environment.ReadFile, error) {
		mu.Lock()
		ran[s.Dir] = f
		mu.Unlock()
		return reportOnDisk(t, changes), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stack, ref string
		dryRun     bool
	}{
		{"stacks/network", refA, false},
		{"stacks/app", "", true},
		{"stacks/dns", "plans/prod/20261207T090002Z-cccc.tfplan", false},
		{"stacks/extra", "", true},
	} {
		got := ran[tc.stack]
		if got.PlanRef != tc.ref || got.DryRun != tc.dryRun || (tc.ref != "") != (got.PlanSHA256 != "") {
			t.Errorf("%s ran with plan %q (sha %q), dry run %v; want %q, %v", tc.stack, got.PlanRef, got.PlanSHA256, got.DryRun, tc.ref, tc.dryRun)
		}
		if _, err := got.Settle(); err != nil {
			t.Errorf("%s's own run refuses its flags: %v", tc.stack, err)
		}
	}
	if app := runs[1]; !slices.Equal(app.Held, []string{"stacks/network"}) {
		t.Errorf("app held by %v, want stacks/network, whose plan changes something", app.Held)
	}
}
