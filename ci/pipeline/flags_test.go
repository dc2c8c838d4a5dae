package pipeline

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/ghactions"
)

// The event's switches turn the caller's on, never off, from the real payloads of
// ci/ghactions' tests; the caller's ref and commit win over the event's.
func TestFlagsWithGitHub(t *testing.T) {
	event := func(name string) string { return filepath.Join("..", "ghactions", "testdata", "events", name) }
	for _, tt := range []struct {
		name  string
		given Flags
		v     ghactions.Values
		want  Flags
	}{
		{"a pull request plans preview as a dry run", Flags{},
			ghactions.Values{EventName: "pull_request", Ref: "refs/pull/2/merge", EventPath: event("pull_request-synchronize.json")},
			Flags{Env: "preview", DryRun: true, Ref: "refs/pull/2/merge", Commit: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
				Why: "event pull_request", Actor: "Codertocat"}},
		{"workflow_dispatch's inputs switch force-recreate and skip-tests on", Flags{DryRun: true, Ref: "refs/heads/main", Commit: "abc"},
			ghactions.Values{EventName: "workflow_dispatch", EventPath: event("workflow_dispatch-prod-booleans.json")},
			Flags{Env: "prod", DryRun: true, ForceRecreate: true, SkipTests: true, Ref: "refs/heads/main", Commit: "abc",
				Why: "workflow_dispatch: the event payload's inputs.environment is prod", Actor: "Codertocat"}},
		{"workflow_dispatch's skip_tests wins over --test-unchanged", Flags{TestUnchanged: true, Ref: "refs/heads/main", Commit: "abc"},
			ghactions.Values{EventName: "workflow_dispatch", EventPath: event("workflow_dispatch-prod-booleans.json")},
			Flags{Env: "prod", ForceRecreate: true, SkipTests: true, Ref: "refs/heads/main", Commit: "abc",
				Why: "workflow_dispatch: the event payload's inputs.environment is prod", Actor: "Codertocat"}},
		{"the caller's own --skip-tests beside --test-unchanged is left for Settle to refuse",
			Flags{SkipTests: true, TestUnchanged: true, Ref: "refs/heads/main", Commit: "abc"},
			ghactions.Values{EventName: "workflow_dispatch", EventPath: event("workflow_dispatch-prod-booleans.json")},
			Flags{Env: "prod", ForceRecreate: true, SkipTests: true, TestUnchanged: true, Ref: "refs/heads/main", Commit: "abc",
				Why: "workflow_dispatch: the event payload's inputs.environment is prod", Actor: "Codertocat"}},
		{"workflow_dispatch's dry_run wins over --test-unchanged", Flags{TestUnchanged: true, Ref: "refs/heads/main", Commit: "abc"},
			ghactions.Values{EventName: "workflow_dispatch", EventPath: event("workflow_dispatch-staging-dry-run.json")},
			Flags{Env: "staging", DryRun: true, ForceRecreate: true, Ref: "refs/heads/main", Commit: "abc",
				Why: "workflow_dispatch: the event payload's inputs.environment is staging", Actor: "Codertocat"}},
		{"a dispatch that runs the tests keeps --test-unchanged", Flags{TestUnchanged: true, Ref: "refs/heads/main", Commit: "abc"},
			ghactions.Values{EventName: "workflow_dispatch", EventPath: event("workflow_dispatch-staging.json")},
			Flags{Env: "staging", ForceRecreate: true, TestUnchanged: true, Ref: "refs/heads/main", Commit: "abc",
				Why: "workflow_dispatch: the event payload's inputs.environment is staging", Actor: "Codertocat"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ghactions.NewContext(environment.DefaultConfig(), tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.given.WithGitHub(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("flags\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFlagsSettle(t *testing.T) {
	for _, tt := range []struct {
		name    string
		f       Flags
		wantDry bool
		wantErr string
	}{
		{"nothing to settle", Flags{Env: "test"}, false, ""},
		{"storing a plan is a dry run", Flags{Env: "prod", StorePlan: true}, true, ""},
		{"a pull request is a dry run, even with --env", Flags{Env: "test", Event: "pull_request"}, true, ""},
		{"so is pull_request_target", Flags{Env: "test", Event: "pull_request_target"}, true, ""},
		{"a push is not", Flags{Env: "test", Event: "push"}, false, ""},
		{"both phases at once", Flags{StorePlan: true, PlanRef: "plans/prod/x.tfplan"}, false, "give one of --store-plan (first phase) and --plan-ref"},
		{"a stored plan across stacks", Flags{Stacks: "all", PlanRef: "plans/prod/x.tfplan"}, false, "--plan-ref applies one stack's stored plan"},
		{"a stored plan's hash across stacks", Flags{Stacks: "all", PlanSHA256: "ab"}, false, "--plan-sha256 goes with --plan-ref"},
		{"applying a stored plan in a dry run", Flags{Env: "prod", PlanRef: "plans/prod/x.tfplan", DryRun: true}, false, "--plan-ref applies a stored plan, and this run is a dry run"},
		{"applying a stored plan on a pull request", Flags{Env: "prod", PlanRef: "plans/prod/x.tfplan", Event: "pull_request"}, false, "--plan-ref applies a stored plan, and this run is a dry run"},
		{"a short commit", Flags{Env: "prod", Commit: "0123abc"}, false, `--commit "0123abc" is not a full commit ID`},
		{"max-parallel without stacks", Flags{Env: "test", MaxParallel: 2}, false, "--max-parallel is how many stacks of --stacks run at once: give --stacks too"},
		{"max-parallel below one", Flags{Env: "test", Stacks: "all", MaxParallel: -1}, false, "--max-parallel is -1: give at least 1"},
		{"tests skipped and run without changes", Flags{Env: "test", SkipTests: true, TestUnchanged: true}, false,
			"--test-unchanged runs the post-deploy tests on a run without changes and --skip-tests skips them: give one of them"},
		{"tests run without changes", Flags{Env: "test", TestUnchanged: true}, false, ""},
		{"tests run without changes in a dry run", Flags{Env: "test", DryRun: true, TestUnchanged: true}, false,
			"--test-unchanged runs the post-deploy tests on a run without changes and --dry-run applies and tests nothing: give one of them"},
		{"a pull request's dry run drops --test-unchanged", Flags{Env: "test", Event: "pull_request", TestUnchanged: true}, true, ""},
		{"so does storing a plan", Flags{Env: "prod", StorePlan: true, TestUnchanged: true}, true, ""},
		{"a change's files beside all stacks", Flags{Env: "test", Stacks: "all", ChangedFiles: true}, false,
			"--changed-files selects stacks only with --stacks=changed: --stacks=all takes every stack whatever the change touches; give --stacks=changed, or leave out --changed-files"},
		{"a change's files beside named stacks", Flags{Env: "test", Stacks: "stacks/network,terraform", ChangedFiles: true}, false,
			`--changed-files selects stacks only with --stacks=changed: --stacks "stacks/network,terraform" takes the stacks it names whatever the change touches`},
		{"a change's files select with --stacks=changed", Flags{Env: "test", Stacks: "changed", ChangedFiles: true}, false, ""},
		{"a change's files on one stack", Flags{Env: "test", ChangedFiles: true}, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.Settle()
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("Settle() error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.DryRun != tt.wantDry {
				t.Errorf("Settle() = %+v, %v; want dry run %v", got, err, tt.wantDry)
			}
			if got.DryRun && got.TestUnchanged {
				t.Errorf("Settle() = %+v: a dry run that keeps --test-unchanged gives a reproduce line Settle refuses", got)
			}
		})
	}
	// --stacks runs the default number at once, or the number given.
	for _, tt := range []struct{ given, want int }{{0, DefaultMaxParallel}, {1, 1}, {7, 7}} {
		got, err := Flags{Env: "test", Stacks: "all", MaxParallel: tt.given}.Settle()
		if err != nil || got.MaxParallel != tt.want {
			t.Errorf("Settle() with --stacks and --max-parallel=%d = %d, %v; want %d", tt.given, got.MaxParallel, err, tt.want)
		}
	}
}

func TestRequestedEnv(t *testing.T) {
	for _, tt := range []struct{ env, requested, want, wantErr string }{
		{"", "", "", ""},
		{"", "staging", "staging", ""},
		{"test", "", "test", ""},
		{"test", "test", "test", ""},
		{"test", "prod", "", `--env "test" and --requested-env "prod" disagree: give one of them`},
	} {
		got, err := RequestedEnv(tt.env, tt.requested)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("RequestedEnv(%q, %q) = %v, want %q", tt.env, tt.requested, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("RequestedEnv(%q, %q) = %q, %v; want %q", tt.env, tt.requested, got, err, tt.want)
		}
	}
}

func TestFlagsAlwaysAndForStack(t *testing.T) {
	for event, want := range map[string]bool{"workflow_dispatch": true, "schedule": true, "push": false, "pull_request": false, "": false} {
		if got := (Flags{Event: event}).Always(); got != want {
			t.Errorf("Always() for %q = %v, want %v", event, got, want)
		}
	}
	f := Flags{Env: "prod", Stacks: "all", MaxParallel: 2, PlanSHA256: "abc", StorePlan: true, Project: "shop"}
	one := f.ForStack("terraform", true)
	if !one.DryRun || !one.ReportOnFailure || one.Stacks != "" || one.MaxParallel != 0 || one.PlanSHA256 != "" || !one.StorePlan || one.Project != "shop" {
		t.Errorf("ForStack(true) = %+v", one)
	}
	if f.ForStack("terraform", false).DryRun {
		t.Error("ForStack(false) is a dry run")
	}
	// A stack's own pipeline settles its flags again: they must not contradict.
	if _, err := one.Settle(); err != nil {
		t.Errorf("ForStack(true).Settle() = %v", err)
	}
	// A stack held by a blocked dependency runs dry: --test-unchanged has nothing to run there.
	held := Flags{Env: "test", Stacks: "all", TestUnchanged: true}.ForStack("terraform", true)
	if _, err := held.Settle(); err != nil || held.TestUnchanged {
		t.Errorf("ForStack(true) with --test-unchanged = %+v, Settle() %v", held, err)
	}
	if !(Flags{Env: "test", Stacks: "all", TestUnchanged: true}).ForStack("terraform", false).TestUnchanged {
		t.Error("ForStack(false) dropped --test-unchanged")
	}
	// The change's files selected the stacks; a stack's own run goes without them.
	changed := Flags{Env: "test", Stacks: "changed", ChangedFiles: true}.ForStack("terraform", false)
	if _, err := changed.Settle(); err != nil || changed.ChangedFiles {
		t.Errorf("ForStack(false) of --stacks=changed = %+v, Settle() %v", changed, err)
	}
}

// --changed-files selects only with --stacks=changed, or without --stacks (one stack's
// pipeline, or the stacks function's default); named stacks and all would ignore it.
func TestCheckChangedFiles(t *testing.T) {
	for _, tt := range []struct {
		spec    string
		changed bool
		wantErr string
	}{
		{"", true, ""},
		{"changed", true, ""},
		{" changed ", true, ""},
		{"all", false, ""},
		{"stacks/network", false, ""},
		{"all", true, "--changed-files selects stacks only with --stacks=changed: --stacks=all takes every stack whatever the change touches; give --stacks=changed, or leave out --changed-files"},
		{" all", true, "--changed-files selects stacks only with --stacks=changed: --stacks=all takes every stack"},
		{"stacks/network", true, `--changed-files selects stacks only with --stacks=changed: --stacks "stacks/network" takes the stacks it names whatever the change touches; give --stacks=changed, or leave out --changed-files`},
		{"a\n::error::x", true, `--changed-files selects stacks only with --stacks=changed: --stacks "a\n::error::x" takes`},
	} {
		err := CheckChangedFiles(tt.spec, tt.changed)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("CheckChangedFiles(%q, %v) = %v", tt.spec, tt.changed, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
			t.Errorf("CheckChangedFiles(%q, %v) = %v\nwant %s", tt.spec, tt.changed, err, tt.wantErr)
		}
	}
}

func TestCheckApplyFlags(t *testing.T) {
	for _, tt := range []struct {
		planDir, stored bool
		wantErr         bool
	}{{false, false, false}, {true, false, false}, {false, true, false}, {true, true, true}} {
		err := CheckApplyFlags(tt.planDir, tt.stored)
		if (err != nil) != tt.wantErr || err != nil && !strings.Contains(err.Error(), "--plan") {
			t.Errorf("CheckApplyFlags(%v, %v) = %v, want error %v", tt.planDir, tt.stored, err, tt.wantErr)
		}
	}
}

// Resolve: the GitHub values decide the environment, --env as the requested one, and the
// event's switches apply; without them --env must be given. Each case settles the flags.
func TestFlagsResolve(t *testing.T) {
	event := func(name string) string { return filepath.Join("..", "ghactions", "testdata", "events", name) }
	resolveEvent := func(v ghactions.Values) func(string) (*ghactions.Context, error) {
		return func(requested string) (*ghactions.Context, error) {
			v.RequestedEnv = requested
			return ghactions.NewContext(environment.DefaultConfig(), v)
		}
	}
	pullRequest := ghactions.Values{EventName: "pull_request", Ref: "refs/pull/2/merge", EventPath: event("pull_request-synchronize.json")}
	deleted := ghactions.Values{EventName: "push", EventPath: event("push-tag-deleted.json")}
	for _, tt := range []struct {
		name      string
		f         Flags
		gitHub    bool
		requested string
		v         ghactions.Values
		wantEnv   string
		wantDry   bool
		wantErr   string
	}{
		{"--env alone", Flags{Env: "test"}, false, "", ghactions.Values{}, "test", false, ""},
		{"--env alone, settled", Flags{Env: "prod", StorePlan: true}, false, "", ghactions.Values{}, "prod", true, ""},
		{"neither", Flags{}, false, "", ghactions.Values{}, "", false, ErrNoEnvironment.Error()},
		{"a pull request", Flags{}, true, "", pullRequest, "preview", true, ""},
		{"a pull request with --env stays a dry run", Flags{Env: "preview"}, true, "", pullRequest, "preview", true, ""},
		{"--env disagreeing with --requested-env", Flags{Env: "prod"}, true, "test", pullRequest, "", false, `--env "prod" and --requested-env "test" disagree`},
		{"a push that deleted a tag", Flags{}, true, "", deleted, "", false, "the push deleted"},
		{"settled after the event", Flags{Env: "preview", Stacks: "all", ChangedFiles: true}, true, "", pullRequest, "", false, "--changed-files selects stacks only with --stacks=changed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.Resolve(tt.gitHub, tt.requested, resolveEvent(tt.v))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve() error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Env != tt.wantEnv || got.DryRun != tt.wantDry {
				t.Errorf("Resolve() = %+v, %v; want env %s, dry run %v", got, err, tt.wantEnv, tt.wantDry)
			}
		})
	}
	// The module reports a deleted branch or tag as a pass: it must be able to tell.
	if _, err := (Flags{}).Resolve(true, "", resolveEvent(deleted)); !errors.Is(err, environment.ErrNothingToDeploy) {
		t.Errorf("Resolve() on a deleted tag = %v, want environment.ErrNothingToDeploy", err)
	}
}

// A laptop rerun carries the switches the run resolved and never CI's own: not the GitHub
// values, --report-on-failure or the change's file list.
func TestFlagsReproduce(t *testing.T) {
	f := Flags{Env: "prod", DryRun: true, ForceRecreate: true, Project: "shop", ReportOnFailure: true,
		Commit: strings.Repeat("a", 40), ChangedFiles: true, Event: "pull_request", Ref: "refs/pull/7/merge", Why: "a pull request"}
	got := f.Reproduce(Call(nil, "pipeline").Flag("env", f.Env), true).String()
	want := "dagger call pipeline --env=prod --dry-run --force-recreate --project=shop --infracost-api-key=env:INFRACOST_API_KEY --commit=" + f.Commit + " export --path=./reports"
	if got != want {
		t.Errorf("Reproduce =\n%s\nwant\n%s", got, want)
	}
	for _, never := range []string{"report-on-failure", "github", "changed-files", "pull_request"} {
		if strings.Contains(got, never) {
			t.Errorf("the rerun line carries %s: %s", never, got)
		}
	}
}
