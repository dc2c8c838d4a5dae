package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/infrapipe/infrapipe/ci/ghactions"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
	"github.com/infrapipe/infrapipe/ci/planstore"
	"github.com/infrapipe/infrapipe/ci/stacks"
)

// CheckApplyFlags refuses an apply given both a plan directory (--plan) and a stored plan
// (--plan-ref): it applies one saved plan.
func CheckApplyFlags(planDir, storedPlan bool) error {
	if planDir && storedPlan {
		return errors.New("give one of --plan (a plan directory) and --plan-ref (a stored plan)")
	}
	return nil
}

// ErrNoEnvironment is a pipeline call with neither --env nor the GitHub values that resolve
// one.
var ErrNoEnvironment = errors.New("no environment: pass --env (preview, test, staging or prod) or the GitHub values (--github-event-name, --github-ref, --requested-env)")

// Flags are a pipeline call's switches and values: the ones its GitHub event may set and
// the ones that contradict each other. The module keeps its secrets and files beside them.
type Flags struct {
	Env                                             string
	DryRun, SkipTests, TestUnchanged, ForceRecreate bool
	Project                                         string
	ReportOnFailure                                 bool
	StorePlan                                       bool // first phase: store the judged plan
	PlanRef, PlanSHA256, Commit                     string
	Stacks                                          string
	// Plans is --plans, the second phase of several stacks; StackPlans is it read, by
	// Settle, which also sets Stacks to its stacks when --stacks was not given.
	Plans      string
	StackPlans Plans
	// ChangedFiles is whether --changed-files was given (the module keeps the file): with
	// --stacks it selects only with --stacks=changed (CheckChangedFiles).
	ChangedFiles bool
	// MaxParallel is how many stacks of Stacks run at once; 0 until Settle gives the
	// default.
	MaxParallel int
	// Event and Ref are the GitHub event name and ref as given; Ref is then the one the
	// event resolved. Why and Actor come from the event: why this environment, and who.
	Event, Ref, Why, Actor string
}

// Reproduce is the pipeline's reproduce line, c (the call on the environment), with the
// flags that replay this run on a laptop: the resolved switches, the stored plan's and the
// commit, and --infracost-api-key when one was given. It leaves out the GitHub values (they
// are resolved into the flags), --report-on-failure (on a laptop the line fails with the
// reasons, where CI's verdict step did), the notifications (a rerun does not notify) and
// --changed-files (the line replays the run that happened).
func (f Flags) Reproduce(c Command, infracostKey bool) Command {
	return c.Bool("dry-run", f.DryRun).
		Bool("force-recreate", f.ForceRecreate).
		Bool("skip-tests", f.SkipTests).
		Bool("test-unchanged", f.TestUnchanged).
		Flag("project", f.Project).
		Secret("infracost-api-key", infracostKey, "INFRACOST_API_KEY").
		Bool("store-plan", f.StorePlan).Flag("plan-ref", f.PlanRef).Flag("plan-sha256", f.PlanSHA256).Flag("plans", f.StackPlans.String()).
		Flag("commit", f.Commit)
}

// Always reports whether the event runs everything, whatever the change touches: manual
// dispatch and the schedule.
func (f Flags) Always() bool { return f.Event == "workflow_dispatch" || f.Event == "schedule" }

// WithGitHub is f on the environment c resolved. The event's switches (a pull request's dry
// run, workflow_dispatch's inputs) turn dry run, force-recreate and skip-tests on, never off;
// the ref and the commit come from the event when they were not given. A dispatch's
// dry_run or skip_tests wins over the caller's --test-unchanged, which then has no tests to
// run and is dropped (Settle refuses the pairs only when the caller gave both).
func (f Flags) WithGitHub(c *ghactions.Context) Flags {
	f.Env, f.Why, f.Actor = string(c.Target.Name), c.Target.Why, c.Actor
	if f.Ref == "" {
		f.Ref = c.Ref
	}
	if f.Commit == "" {
		f.Commit = c.SHA
	}
	f.ForceRecreate = f.ForceRecreate || c.Inputs.ForceRecreate
	if c.Inputs.DryRun && !f.DryRun {
		f.testNothing()
		f.DryRun = true
	}
	if c.Inputs.SkipTests && !f.SkipTests {
		f.testNothing()
		f.SkipTests = true
	}
	return f
}

// testNothing drops --test-unchanged from a run that an implied switch (a dry run, skipped
// tests) keeps from testing: only the caller's own pair is refused (Settle), and the
// reproduce line, which names the implied switch, must not be.
func (f *Flags) testNothing() { f.TestUnchanged = false }

// RequestedEnv is the environment a pipeline call asks the GitHub values for. --env given
// beside them counts as --requested-env, so that the event is still validated and its
// switches (a pull request's dry run, workflow_dispatch's dry_run) still apply; the two
// must then agree.
func RequestedEnv(env, requested string) (string, error) {
	switch {
	case env == "":
		return requested, nil
	case requested != "" && requested != env:
		return "", fmt.Errorf("--env %s and --requested-env %s disagree: give one of them", untrusted.Quote(env), untrusted.Quote(requested))
	}
	return env, nil
}

// CheckChangedFiles refuses --changed-files (changedFiles: given) beside a --stacks spec
// that does not read it: named stacks and all are taken whatever the change touches
// (stacks.Repo.Select), so the list would be read and ignored. Only --stacks=changed, and
// no --stacks (one stack's pipeline; the stacks function's default), use it.
func CheckChangedFiles(spec string, changedFiles bool) error {
	if !changedFiles {
		return nil
	}
	const refused = "--changed-files selects stacks only with --stacks=changed: "
	const valid = "; give --stacks=changed, or leave out --changed-files"
	switch strings.TrimSpace(spec) {
	case "", stacks.ChangedStacks: // blanks given as --stacks are Select's own error
		return nil
	case stacks.AllStacks:
		return errors.New(refused + "--stacks=all takes every stack whatever the change touches" + valid)
	}
	return fmt.Errorf(refused+"--stacks %s takes the stacks it names whatever the change touches"+valid, untrusted.Quote(spec))
}

// Resolve is a pipeline call's flags on its environment, settled (Settle). Given the GitHub
// values (gitHub), resolve turns them into the environment and the event's switches, --env
// counting as the requested environment (RequestedEnv), so that a pull request stays a dry
// run whichever names the environment; without them --env must be given. An error that
// wraps environment.ErrNothingToDeploy (a push that deleted a branch or tag) is the
// caller's to report as a pass.
func (f Flags) Resolve(gitHub bool, requested string, resolve func(requested string) (*ghactions.Context, error)) (Flags, error) {
	switch {
	case gitHub:
		req, err := RequestedEnv(f.Env, requested)
		if err != nil {
			return f, err
		}
		c, err := resolve(req)
		if err != nil {
			return f, err
		}
		f = f.WithGitHub(c)
	case f.Env == "":
		return f, ErrNoEnvironment
	}
	return f.Settle()
}

// DefaultMaxParallel is how many stacks run at once when --max-parallel is not given.
const DefaultMaxParallel = 4

// Settle refuses switches that contradict each other, before anything runs, and turns on
// what one implies: storing a plan is a dry run, and so is a pull request's run, even with
// --env (then WithGitHub did not run); --stacks runs DefaultMaxParallel stacks at once unless
// --max-parallel says otherwise.
func (f Flags) Settle() (Flags, error) {
	if f.TestUnchanged && f.SkipTests {
		return f, errors.New("--test-unchanged runs the post-deploy tests on a run without changes and --skip-tests skips them: give one of them")
	}
	if f.TestUnchanged && f.DryRun {
		return f, errors.New("--test-unchanged runs the post-deploy tests on a run without changes and --dry-run applies and tests nothing: give one of them")
	}
	if f.Plans != "" {
		var err error
		if f.StackPlans, err = ParsePlans(f.Plans); err != nil {
			return f, err
		}
		switch {
		case f.StorePlan:
			return f, errors.New("give one of --store-plan (first phase) and --plans (second phase)")
		case f.PlanRef != "" || f.PlanSHA256 != "":
			return f, errors.New("--plans gives each stack's stored plan and hash: leave out --plan-ref and --plan-sha256, which apply one stack's")
		case f.ChangedFiles:
			return f, errors.New("--plans applies the stacks its plans are for, whatever the change touches: leave out --changed-files")
		case f.Stacks == "":
			f.Stacks = strings.Join(f.StackPlans.Stacks(), ",")
		case !slices.Equal(namedStacks(f.Stacks), f.StackPlans.Stacks()):
			return f, plansStacksError(f.Stacks, f.StackPlans)
		}
	}
	if f.Stacks != "" {
		if err := CheckChangedFiles(f.Stacks, f.ChangedFiles); err != nil {
			return f, err
		}
	}
	if f.MaxParallel != 0 && f.Stacks == "" {
		return f, errors.New("--max-parallel is how many stacks of --stacks run at once: give --stacks too, or leave it out")
	}
	if f.MaxParallel < 0 {
		return f, fmt.Errorf("--max-parallel is %d: give at least 1", f.MaxParallel)
	}
	if f.Stacks != "" && f.MaxParallel == 0 {
		f.MaxParallel = DefaultMaxParallel
	}
	if f.StorePlan && f.PlanRef != "" {
		return f, errors.New("give one of --store-plan (first phase) and --plan-ref (second phase)")
	}
	if f.Stacks != "" && f.PlanRef != "" {
		return f, errors.New("--plan-ref applies one stack's stored plan: give it with --terraform-dir=<stack>, not --stacks")
	}
	if err := planstore.CheckCommit(f.Commit); err != nil {
		return f, err
	}
	if f.Stacks != "" && f.PlanSHA256 != "" {
		return f, errors.New("--plan-sha256 goes with --plan-ref, which applies one stack's stored plan: give it with --terraform-dir=<stack>, not --stacks")
	}
	if f.StorePlan || ghactions.IsPullRequest(f.Event) {
		f.testNothing()
		f.DryRun = true
	}
	if f.Plans != "" && f.DryRun {
		return f, errors.New("--plans applies stored plans, and this run is a dry run (--dry-run, a pull request, or the dispatch's dry_run): give one of them")
	}
	if f.PlanRef != "" && f.DryRun {
		return f, errors.New("--plan-ref applies a stored plan, and this run is a dry run (--dry-run, a pull request, or the dispatch's dry_run): give one of them")
	}
	return f, nil
}

// ForStack is f for the stack in dir, one of --stacks: the stack's report goes into the
// combined one, which decides the verdict, so it is always returned; dryRun holds a stack
// whose dependency blocked. The change's file list has selected the stack, so the stack's
// own run goes without it. In a second phase (--plans), a stack that is not held applies
// its stored plan, and one without a plan is a dry run.
func (f Flags) ForStack(dir string, dryRun bool) Flags {
	plan, stored := f.StackPlans[dir]
	if f.StackPlans != nil && !stored {
		dryRun = true // a second phase applies nothing it has no reviewed plan of
	}
	f.DryRun, f.ReportOnFailure, f.PlanSHA256, f.Stacks, f.MaxParallel = dryRun, true, "", "", 0
	f.ChangedFiles, f.Plans, f.StackPlans = false, "", nil
	if stored && !dryRun {
		// The second phase of several stacks: this stack applies its stored plan.
		f.PlanRef, f.PlanSHA256 = plan.Ref, plan.SHA256
	}
	if dryRun {
		f.testNothing()
	}
	return f
}
