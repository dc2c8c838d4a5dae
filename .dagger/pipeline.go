package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/ghactions"
	"github.com/infrapipe/infrapipe/ci/importer"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/postdeploy"
	"github.com/infrapipe/infrapipe/ci/workdir"
)

// Pipeline runs one environment's whole pipeline, the steps its profile asks for:
// fmt/validate and lint, security scan, import of existing resources, plan with the safety
// gate, compliance and cost on the plan, state backup, apply of the saved plan, and
// post-deploy tests. Independent steps run in parallel. It returns one report directory
// (summary.md, result.json with the verdict pass, warn or block, results.sarif, junit.xml,
// outputs.env, annotations.txt, plan.txt, and the import report when import ran) and fails
// with the reasons when a step blocks, unless --report-on-failure.
//
// The environment comes from --env or, in GitHub Actions, from the event values; given
// both, --env is the requested environment and the event's switches still apply.
//
// +cache="never"
func (m *Infra) Pipeline(
	ctx context.Context,
	// Environment: preview, test, staging or prod. Resolved from the GitHub values when empty.
	// +optional
	env string,
	// Plan, check and report; apply and import nothing.
	// +optional
	dryRun bool,
	// Skip the post-deploy tests.
	// +optional
	skipTests bool,
	// Run the post-deploy tests even when the plan changes nothing (by default a run
	// without changes applies, backs up and tests nothing). Not with --skip-tests or
	// --dry-run; a pull request, --store-plan or a dispatch's dry_run or skip_tests drops it.
	// +optional
	testUnchanged bool,
	// Allow prod to delete or replace resources (a protected type still warns: its data is lost).
	// +optional
	forceRecreate bool,
	// Project tag value that import discovery looks for; without it import is skipped.
	// +optional
	project string,
	// Return the report even when a step blocks or fails (result.json says so); then run
	// `verdict --report=<dir>` to fail the job after uploading the report. An error before
	// any step (flags, pipeline.yaml, the environment) still fails with no report.
	// +optional
	reportOnFailure bool,
	// GitHub event name, e.g. --github-event-name="$GITHUB_EVENT_NAME".
	// +optional
	githubEventName string,
	// GitHub ref, e.g. --github-ref="$GITHUB_REF".
	// +optional
	githubRef string,
	// Environment asked for by workflow_dispatch or a promotion job.
	// +optional
	requestedEnv string,
	// GitHub event payload, e.g. --github-event="$GITHUB_EVENT_PATH".
	// +optional
	githubEvent *dagger.File,
	// Infracost API key for the cost step, e.g. env:INFRACOST_API_KEY.
	// +optional
	infracostApiKey *dagger.Secret,
	// First phase of a reviewed deploy: plan and check only, and store the plan for
	// "--plan-ref" (the summary gives its reference and SHA-256). Implies --dry-run.
	// +optional
	storePlan bool,
	// Second phase: apply this stored plan instead of planning, once it is proven to be the
	// approved one (--plan-sha256), for this environment and commit, and still current.
	// +optional
	planRef string,
	// SHA-256 of the stored plan, from the approved summary.
	// +optional
	planSha256 string,
	// Second phase of several stacks: each stack's stored plan and its SHA-256, as the first
	// phase's plans output gives them ("<stack>=<plan-ref>@<sha256>", separated by commas).
	// Runs those stacks, in dependency order, each applying its plan as --plan-ref would.
	// +optional
	plans string,
	// The commit being deployed, recorded with a stored plan and checked against it; when
	// empty, taken from a push or pull_request event if the GitHub values chose the
	// environment (workflow_dispatch and schedule carry none).
	// +optional
	commit string,
	// Webhook URLs for the channels pipeline.yaml's notify names, one "channel=URL" a line
	// (slack, teams, webhook), e.g. env:NOTIFY_WEBHOOKS. Never in a reproduce line: a laptop
	// rerun does not notify.
	// +optional
	notifyWebhooks *dagger.Secret,
	// The CI run's URL, for the notification's link.
	// +optional
	runUrl string,
	// The paths the change touches, one a line (git diff --name-only; a line "*" means
	// unknown): when none touches the stack, its local modules or the pipeline, nothing runs
	// and the run passes. Manual dispatch and the schedule always run. With --stacks, only
	// --stacks=changed reads it (named stacks and all refuse it).
	// +optional
	changedFiles *dagger.File,
	// Run several stacks of the repository in this call (docs/stacks.md): changed (those
	// --changed-files touches), all, or stack directories separated by commas. They run in
	// parallel and in dependency order into one report, each stack's own under stacks/.
	// +optional
	stacks string,
	// With --stacks: how many stacks run at once (default 4).
	// +optional
	maxParallel int,
) (*dagger.Directory, error) {
	return m.runPipeline(ctx, pipelineFlags{
		Flags: pipeline.Flags{Env: env, DryRun: dryRun, SkipTests: skipTests, TestUnchanged: testUnchanged, ForceRecreate: forceRecreate,
			Project: project, ReportOnFailure: reportOnFailure, StorePlan: storePlan, PlanRef: planRef, PlanSHA256: planSha256, Plans: plans,
			Commit: commit, Stacks: stacks, MaxParallel: maxParallel, Event: githubEventName, Ref: githubRef},
		gh:              gitHub{githubEventName, githubRef, requestedEnv, githubEvent},
		infracostAPIKey: infracostApiKey, notifyWebhooks: notifyWebhooks, runURL: runUrl, changedFiles: changedFiles,
	})
}

// pipelineFlags are Pipeline's arguments: ci/pipeline's Flags, and the secrets and files
// beside them. Each stack of --stacks runs the same pipeline on Flags.ForStack.
type pipelineFlags struct {
	pipeline.Flags
	gh              gitHub // to resolve the environment when --env is not given
	infracostAPIKey *dagger.Secret
	notifyWebhooks  *dagger.Secret
	runURL          string
	changedFiles    *dagger.File
}

// runPipeline is Pipeline, on its flags.
func (m *Infra) runPipeline(ctx context.Context, f pipelineFlags) (*dagger.Directory, error) {
	started := time.Now()
	f.ChangedFiles = f.changedFiles != nil // Settle checks it against --stacks
	var err error
	f.Flags, err = f.Resolve(f.gh.given(), f.gh.requestedEnv, func(requested string) (*ghactions.Context, error) {
		g := f.gh
		g.requestedEnv = requested
		return m.gitHubContext(ctx, g)
	})
	if errors.Is(err, environment.ErrNothingToDeploy) {
		// A push that deleted a branch or tag: say so and succeed, with no plan.
		return reportDir(ctx, "summary.md", pipeline.NothingToDeploy(err))
	}
	if err != nil {
		return nil, err
	}
	if f.infracostAPIKey, err = given(ctx, "infracost-api-key", f.infracostAPIKey); err != nil {
		return nil, err
	}
	if f.notifyWebhooks, err = webhooks(ctx, f.notifyWebhooks); err != nil {
		return nil, err
	}
	if f.Stacks != "" {
		return m.pipelineStacks(ctx, f)
	}
	reproduce := f.Reproduce(m.envCall("pipeline", f.Env), f.infracostAPIKey != nil)
	if f.changedFiles != nil && !f.Always() {
		// A stack that is not there is an error, not a change that touches nothing.
		if err := m.checkTerraformDir(ctx); err != nil {
			return nil, err
		}
		line := reproduce.Flag("changed-files", changedFilesArg(ctx, f.changedFiles))
		if dir, err := m.unaffected(ctx, f.Env, f.changedFiles, line); dir != nil || err != nil {
			return dir, err
		}
	}
	m.announce(reproduce)
	stored, err := parseStoredRef(f.PlanRef, f.PlanSHA256, f.Commit)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	r, err := m.newRun(ctx, f.Env)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	if _, err := r.image(); err != nil { // a version pin the run cannot take fails it now
		return nil, reproduce.Wrap(err)
	}
	repo := m.repo(ctx)
	if err := repo.CheckSuppressions(); err != nil {
		return nil, reproduce.Wrap(err)
	}
	p := &pipelineRun{
		pipelineFlags: f,
		r:             r,
		repo:          repo,
		plan:          pipeline.NewPlan(r.profile, pipeline.Options{DryRun: f.DryRun, SkipTests: f.SkipTests, Project: f.Project}),
		stored:        stored,
		started:       started,
		rec:           pipeline.NewRecorder(r.profile, started),
	}
	p.run(ctx)

	dir, rep, err := p.report(ctx, reproduce)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	if err := rep.Err(); err != nil && !f.ReportOnFailure {
		return nil, reproduce.Wrap(err)
	}
	return dir, nil
}

// pipelineRun is one Pipeline call: its steps, its options and, as steps finish, their
// results.
type pipelineRun struct {
	pipelineFlags
	r             *run
	repo          pipeline.Repo // as lint, scan and compliance read findings
	plan          pipeline.Plan
	stored        *storedRef // apply this stored plan instead of planning
	storedSection string     // the stored plan's summary section, once stored
	started       time.Time

	rec     *pipeline.Recorder // the steps as they finish
	mu      sync.Mutex         // guards what the steps leave for the report:
	planned *judged
	tests   *postdeploy.Suite
	imports []string // the import report's files (name, contents, ...)
}

// run executes the planned steps in ci/pipeline's order (pipeline.Execute), which records
// them, failures too, so the report always covers every step. Each step here runs its
// containers and hands their output to ci/.
func (p *pipelineRun) run(ctx context.Context) {
	m, r := p.r.m, p.r
	var planned judged
	var applied workdir.Applied[tfDir]
	steps := pipeline.Steps{
		Lint: func(ctx context.Context) (pipeline.StepReport, error) {
			image, err := r.image()
			if err != nil {
				return pipeline.StepReport{}, err
			}
			res, err := m.lint(ctx, p.repo, image, r.git)
			return res.Step(r.profile, p.plan.Tflint), err
		},
		SecurityScan: func(ctx context.Context) (pipeline.StepReport, error) {
			res, err := m.securityScan(ctx, p.repo)
			return res.Step(pipeline.StepSecurityScan, r.profile, r.profile.SeverityThreshold), err
		},
		Plan: func(ctx context.Context) (pipeline.Planned, error) {
			var err error
			if planned, err = p.planWithImports(ctx); err != nil {
				return pipeline.Planned{}, err
			}
			p.mu.Lock()
			p.planned = &planned
			p.mu.Unlock()
			return pipeline.Planned{Analysis: planned.Report.Analysis, Decision: planned.Report.Decision}, nil
		},
		Compliance: func(ctx context.Context) (pipeline.StepReport, error) {
			res, err := r.compliance(ctx, planned, p.repo)
			return res.Step(pipeline.StepCompliance, r.profile, r.profile.SeverityThreshold), err
		},
		Cost: func(ctx context.Context) (pipeline.StepReport, error) {
			est, err := r.cost(ctx, planned.Dir.file("plan.json"), p.infracostAPIKey)
			if err != nil {
				return pipeline.StepReport{}, err
			}
			return est.Step(), nil
		},
		Apply: func(ctx context.Context) (pipeline.StepReport, error) {
			var rep pipeline.Apply
			var err error
			if applied, rep, err = r.apply(ctx, planned); err != nil {
				return pipeline.StepReport{}, err
			}
			if files, ok := workdir.ImportsApplied(p.rec, planned, string(r.env)); ok {
				p.mu.Lock()
				p.imports = files
				p.mu.Unlock()
			}
			return rep.Step(), nil
		},
		Tests: func(ctx context.Context) (pipeline.StepReport, error) {
			ts, err := r.postDeploy(ctx, applied.Plan.Dir.ctr)
			if err != nil {
				return pipeline.StepReport{}, err
			}
			p.mu.Lock()
			p.tests = ts
			p.mu.Unlock()
			return ts.Step(), nil
		},
	}
	if p.StorePlan {
		steps.Store = func(ctx context.Context) error {
			section, err := r.storeForApply(ctx, planned, p.Commit, p.ForceRecreate)
			if err != nil {
				return err
			}
			p.mu.Lock()
			p.storedSection = section
			p.mu.Unlock()
			return nil
		}
	}
	pipeline.Execute(ctx, p.plan, p.TestUnchanged, steps, p.rec)
}

// planWithImports plans the environment with import blocks for the existing resources
// when the import step runs, and judges the plan (ci/workdir.PlanWithImports, which records
// the import step); a stored plan is applied as reviewed, imports and all, with nothing
// planned again.
func (p *pipelineRun) planWithImports(ctx context.Context) (judged, error) {
	r := p.r
	if p.stored != nil {
		p.rec.Begin(pipeline.StepPlan)
		return r.storedPlan(ctx, p.stored, p.ForceRecreate)
	}
	planned, files, err := workdir.PlanWithImports(ctx, p.rec, r.planning, workdir.Imports{
		Run: p.plan.Runs(pipeline.StepImport),
		Request: func(ctx context.Context) (importer.Request, error) {
			if err := importer.CheckProject(p.Project, r.profile); err != nil {
				return importer.Request{}, err
			}
			return r.importRequest(ctx, p.Project, importer.OptionsFor(r.profile))
		},
		Env:    string(r.env),
		DryRun: p.DryRun,
	}, p.ForceRecreate)
	p.mu.Lock()
	p.imports = files
	p.mu.Unlock()
	return planned, err
}

// report is the pipeline's one report directory, assembled by ci/pipeline once the run is
// announced on the environment's channels, and the report it holds.
func (p *pipelineRun) report(ctx context.Context, reproduce pipeline.Command) (*dagger.Directory, *pipeline.Report, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rep := pipeline.Report{
		Run:       pipeline.Run{Env: p.r.env, Why: p.Why, DryRun: p.DryRun, Stack: p.r.m.TerraformDir},
		Steps:     p.rec.Steps(),
		Reproduce: reproduce,
		SARIF:     p.r.m.sarifOptions(ctx),
		FailAt:    p.r.profile.SeverityThreshold,
		Extra:     p.imports,
	}
	if p.planned != nil {
		rep.Plan = p.planned.With(p.storedSection)
	}
	if p.tests != nil {
		suite := p.tests.JUnit()
		rep.Tests = &suite
	}
	rep.Mask(p.r.masked)
	msg := rep.Message()
	msg.RunURL = p.runURL
	rep.Notifications = p.r.notify(ctx, p.notifyWebhooks, msg)
	record := p.keepRecord(ctx, &rep) // report holds p.mu
	rep.Record = &record
	files, _, err := rep.Files()
	if err != nil {
		return nil, nil, err
	}
	// The state backup stays in the bucket's backup prefix (the summary names it): the report
	// is uploaded as a CI artifact, and a state holds secrets in clear text.
	dir, err := p.r.reportDir(ctx, files...)
	return dir, &rep, err
}

// Verdict reads a report directory that was exported before the job failed (`pipeline`,
// `drift` or `test` with --report-on-failure) and fails with the reasons when it
// blocked; otherwise it prints e.g. "test pipeline: pass". The last step of a CI job, run
// after the report was uploaded.
func (m *Infra) Verdict(
	ctx context.Context,
	// The report directory, e.g. --report=./reports.
	report *dagger.Directory,
) (string, error) {
	res, err := pipeline.ReadReport(dirReader(ctx, report))
	if err != nil {
		return "", err
	}
	if err := res.Err(); err != nil {
		return "", err
	}
	return res.String() + "\n", nil
}
