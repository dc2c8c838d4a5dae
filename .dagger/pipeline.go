package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/notify"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/report"
)

// Pipeline runs one environment's whole pipeline, the steps its profile asks for:
// fmt/validate and lint, security scan, import of existing resources, plan with the safety
// gate, compliance and cost on the plan, state backup, apply of the saved plan, and
// post-deploy tests. Independent steps run in parallel. It returns one report directory
// (summary.md, result.json with the verdict pass, warn or block, results.sarif, junit.xml,
// outputs.env, annotations.txt, plan.txt, and the import report when import ran) and fails
// with the reasons when a step blocks, unless --report-on-failure.
//
// The environment comes from --env or, in GitHub Actions, from the event values.
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
	// without changes applies, backs up and tests nothing).
	// +optional
	testUnchanged bool,
	// Allow prod to delete or replace resources that are not of a protected type.
	// +optional
	forceRecreate bool,
	// Project tag value that import discovery looks for; without it import is skipped.
	// +optional
	project string,
	// Return the report even when the pipeline blocks or fails (result.json says so);
	// then run `verdict --report=<dir>` to fail the job after uploading the report.
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
	// AWS access key ID, e.g. env:AWS_ACCESS_KEY_ID.
	// +optional
	awsAccessKeyID *dagger.Secret,
	// AWS secret access key, e.g. env:AWS_SECRET_ACCESS_KEY.
	// +optional
	awsSecretAccessKey *dagger.Secret,
	// AWS session token, e.g. env:AWS_SESSION_TOKEN.
	// +optional
	awsSessionToken *dagger.Secret,
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
	// The commit being deployed, recorded with a stored plan and checked against it; taken
	// from the GitHub event when empty.
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
	// and the run passes. Manual dispatch and the schedule always run.
	// +optional
	changedFiles *dagger.File,
	// Run several stacks of the repository in this call (docs/stacks.md): changed (those
	// --changed-files touches), all, or stack directories separated by commas. They run in
	// parallel and in dependency order into one report, each stack's own under stacks/.
	// +optional
	stacks string,
	// With --stacks: how many stacks run at once.
	// +default=4
	maxParallel int,
) (*dagger.Directory, error) {
	gh := gitHub{githubEventName, githubRef, requestedEnv, githubEvent}
	var why string
	if env == "" {
		if !gh.given() {
			return nil, fmt.Errorf("no environment: pass --env (preview, test, staging or prod) or the GitHub values (--github-event-name, --github-ref, --requested-env)")
		}
		ctxGH, err := m.gitHubContext(ctx, gh)
		if errors.Is(err, environment.ErrNothingToDeploy) {
			// A push that deleted a branch or tag: say so and succeed, with no plan.
			return reportDir(ctx, "summary.md", pipeline.NothingToDeploy(err))
		}
		if err != nil {
			return nil, err
		}
		env, why = string(ctxGH.Target.Name), ctxGH.Target.Why
		if commit == "" {
			commit = ctxGH.SHA
		}
		forceRecreate = forceRecreate || ctxGH.Inputs.ForceRecreate
		dryRun = dryRun || ctxGH.Inputs.DryRun
		skipTests = skipTests || ctxGH.Inputs.SkipTests
	}
	if stacks != "" {
		if planRef != "" {
			return nil, fmt.Errorf("--plan-ref applies one stack's stored plan: give it with --terraform-dir=<stack>, not --stacks")
		}
		always := githubEventName == "workflow_dispatch" || githubEventName == "schedule"
		return m.pipelineStacks(ctx, stacksOptions{spec: stacks, maxParallel: maxParallel, changedFiles: changedFiles, always: always,
			env: env, dryRun: dryRun || storePlan, reportOnFailure: reportOnFailure},
			func(ctx context.Context, sm *Infra, dry bool) (*dagger.Directory, error) {
				return sm.Pipeline(ctx, env, dry, skipTests, testUnchanged, forceRecreate, project, true, githubEventName, githubRef, requestedEnv, githubEvent,
					awsAccessKeyID, awsSecretAccessKey, awsSessionToken, infracostApiKey, storePlan, "", "", commit, notifyWebhooks, runUrl, nil, "", maxParallel)
			})
	}
	creds, err := credentials(ctx, awsAccessKeyID, awsSecretAccessKey, awsSessionToken)
	if err != nil {
		return nil, err
	}
	if changedFiles != nil && githubEventName != "workflow_dispatch" && githubEventName != "schedule" {
		if dir, err := m.unaffected(ctx, env, changedFiles); dir != nil || err != nil {
			return dir, err
		}
	}
	if infracostApiKey, err = given(ctx, "infracost-api-key", infracostApiKey); err != nil {
		return nil, err
	}
	if notifyWebhooks, err = given(ctx, "notify-webhooks", notifyWebhooks); err != nil {
		return nil, err
	}
	dryRun = dryRun || storePlan
	reproduce := m.envCall("pipeline", env, creds).
		Bool("dry-run", dryRun).
		Bool("force-recreate", forceRecreate).
		Bool("skip-tests", skipTests).
		Bool("test-unchanged", testUnchanged).
		Flag("project", project).
		Secret("infracost-api-key", infracostApiKey != nil, "INFRACOST_API_KEY").
		Bool("store-plan", storePlan).Flag("plan-ref", planRef).Flag("plan-sha256", planSha256).Flag("commit", commit)
	announce(reproduce)
	stored, err := parseStoredRef(planRef, planSha256, commit)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	if stored != nil && storePlan {
		return nil, reproduce.Wrap(fmt.Errorf("give one of --store-plan (first phase) and --plan-ref (second phase)"))
	}
	r, err := m.newRun(ctx, env, creds)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	p := &pipelineRun{
		r:               r,
		plan:            pipeline.NewPlan(r.profile, pipeline.Options{DryRun: dryRun, SkipTests: skipTests, Project: project}),
		dryRun:          dryRun,
		testUnchanged:   testUnchanged,
		forceRecreate:   forceRecreate,
		project:         project,
		infracostAPIKey: infracostApiKey,
		why:             why,
		storePlan:       storePlan,
		stored:          stored,
		commit:          commit,
		creds:           creds,
		notifyWebhooks:  notifyWebhooks,
		runURL:          runUrl,
	}
	p.run(ctx)

	dir, res, err := p.report(ctx, reproduce)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	if res.Verdict == gate.Block && !reportOnFailure {
		res.Reasons = pipeline.Reasons(p.outcomes(), gate.Block) // why it blocked, not every warning
		return nil, reproduce.Wrap(res.Err())
	}
	return dir, nil
}

// pipelineRun is one Pipeline call: its steps, its options and, as steps finish, their
// results.
type pipelineRun struct {
	r               *run
	plan            pipeline.Plan
	dryRun          bool
	testUnchanged   bool // run the post-deploy tests even without changes
	forceRecreate   bool
	project         string
	infracostAPIKey *dagger.Secret
	why             string
	storePlan       bool       // store the judged plan for a later apply
	stored          *storedRef // apply this stored plan instead of planning
	commit          string
	creds           awsCredentials
	storedSection   string // the stored plan's summary section, once stored
	notifyWebhooks  *dagger.Secret
	runURL          string

	mu      sync.Mutex
	steps   []step
	planned *planRun
	tests   *testSuite
	files   []string // extra report files (name, contents, ...), e.g. the import report
}

// step is one step's outcome with what the report shows of it.
type step struct {
	pipeline.Outcome
	markdown string
	tools    []string
	findings []findings.Finding
}

func (p *pipelineRun) add(s step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.steps = append(p.steps, s)
}

// broken records a step that could not run; ci/pipeline says how much that counts.
func (p *pipelineRun) broken(name pipeline.Step, err error) {
	p.add(step{Outcome: pipeline.Broken(p.r.profile, name, err), markdown: pipeline.BrokenSection(name, err)})
}

// failed records a step that ran and failed: it blocks in every environment.
func (p *pipelineRun) failed(name pipeline.Step, err error) {
	p.add(step{Outcome: pipeline.Outcome{Step: name, Verdict: gate.Block, Reasons: []string{err.Error()}},
		markdown: pipeline.FailedSection(name, err)})
}

// outcomes are the steps so far, as ci/pipeline judges them.
func (p *pipelineRun) outcomes() []pipeline.Outcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]pipeline.Outcome, len(p.steps))
	for i, s := range p.steps {
		out[i] = s.Outcome
	}
	return out
}

// blocked reports whether a step so far blocks: then nothing is applied.
func (p *pipelineRun) blocked() bool { return pipeline.Verdict(p.outcomes()) == gate.Block }

// run executes the planned steps in dependency order; independent ones run in parallel.
// Step failures are recorded, not returned, so the report always covers every step.
// Nothing is applied before every check has finished and none blocked.
func (p *pipelineRun) run(ctx context.Context) {
	m := p.r.m
	// Static checks need no state and run beside import and plan; apply waits for them.
	var static sync.WaitGroup
	if p.plan.Runs(pipeline.StepLint) {
		static.Add(1)
		go func() {
			defer static.Done()
			res, err := m.lint(ctx)
			if err != nil {
				p.broken(pipeline.StepLint, err)
				return
			}
			if !p.plan.Tflint {
				res.Tflint = nil // basic validation: fmt and validate only
			}
			p.add(step{Outcome: res.outcome(p.r.profile.SeverityThreshold), markdown: res.markdown(), tools: []string{"tflint"}, findings: res.Tflint})
		}()
	}
	if p.plan.Runs(pipeline.StepSecurityScan) {
		static.Add(1)
		go func() {
			defer static.Done()
			res, err := m.securityScan(ctx)
			if err != nil {
				p.broken(pipeline.StepSecurityScan, err)
				return
			}
			p.addFindings(pipeline.StepSecurityScan, res)
		}()
	}
	p.deploy(ctx, static.Wait)
	static.Wait()
}

// addFindings records a findings step judged against the environment's threshold.
func (p *pipelineRun) addFindings(name pipeline.Step, res scanResult) {
	outcome, section := res.outcome(name, p.r.profile, p.r.profile.SeverityThreshold)
	p.add(step{Outcome: outcome, tools: res.tools, findings: res.findings,
		markdown: pipeline.StepHeading(name, nil) + section})
}

// deploy is the stateful chain: import, plan and gate, then compliance and cost on the plan
// in parallel, then backup and apply, then post-deploy tests.
func (p *pipelineRun) deploy(ctx context.Context, staticChecks func()) {
	r := p.r
	planned, err := p.planWithImports(ctx)
	if err != nil {
		p.failed(pipeline.StepPlan, err)
		return
	}
	p.mu.Lock()
	p.planned = planned
	p.mu.Unlock()
	p.add(step{Outcome: pipeline.Outcome{Step: pipeline.StepPlan, Verdict: planned.decision.Verdict, Reasons: planned.decision.Reasons}})

	var g sync.WaitGroup
	if p.plan.Runs(pipeline.StepCompliance) {
		g.Add(1)
		go func() {
			defer g.Done()
			res, err := r.compliance(ctx, planned.jsonFile())
			if err != nil {
				p.broken(pipeline.StepCompliance, err)
				return
			}
			p.addFindings(pipeline.StepCompliance, res)
		}()
	}
	if p.plan.Runs(pipeline.StepCost) {
		g.Add(1)
		go func() {
			defer g.Done()
			s, err := r.costStep(ctx, planned.jsonFile(), p.infracostAPIKey)
			if err != nil {
				p.broken(pipeline.StepCost, err)
				return
			}
			p.add(s)
		}()
	}
	g.Wait()
	staticChecks()

	if p.storePlan && !p.blocked() {
		section, err := r.storeForApply(ctx, planned, p.commit, p.creds)
		if err != nil {
			p.failed(pipeline.StepPlan, fmt.Errorf("store the plan for a later apply: %w", err))
			return
		}
		p.mu.Lock()
		p.storedSection = section
		p.mu.Unlock()
	}
	if !p.plan.Runs(pipeline.StepApply) || p.blocked() {
		return
	}
	applied, err := r.applyPlan(ctx, planned)
	if err != nil {
		p.failed(pipeline.StepApply, err)
		return
	}
	if p.stored != nil {
		applied.stored, applied.storedNote = p.stored, r.deleteStored(ctx, p.stored)
	}
	p.add(step{Outcome: pipeline.Outcome{Step: pipeline.StepApply, Verdict: gate.Pass}, markdown: applied.markdown()})

	if !p.plan.Runs(pipeline.StepTests) || (!planned.analysis.Counts.HasChanges() && !p.testUnchanged) {
		return
	}
	ts, err := r.postDeploy(ctx, applied.plan.ctr)
	if err != nil {
		p.broken(pipeline.StepTests, err)
		return
	}
	p.add(ts.step())
	p.mu.Lock()
	p.tests = ts
	p.mu.Unlock()
}

// planWithImports plans the environment, with import blocks for the existing resources
// when the import step runs, and judges the plan: one plan imports and changes together.
// An import step that cannot run is recorded as broken and the plan goes on without it.
func (p *pipelineRun) planWithImports(ctx context.Context) (*planRun, error) {
	r := p.r
	if p.stored != nil {
		// The stored plan is applied as reviewed, imports and all: nothing is planned again.
		ctr, err := r.initialized(ctx)
		if err != nil {
			return nil, err
		}
		return r.storedPlan(ctx, ctr, p.stored, p.forceRecreate)
	}
	imports, err := p.importStep(ctx)
	if err != nil {
		p.broken(pipeline.StepImport, err)
		imports = nil
	}
	ctr, err := r.initialized(ctx)
	if err != nil {
		return nil, err
	}
	if imports != nil {
		ctr = ctr.WithFile(imports.path, imports.file)
	}
	if ctr, err = r.planned(ctx, ctr); err != nil {
		// The report still says which imports failed, and why.
		if imports != nil && imports.mapping.resolveFailure(err) == nil {
			p.importDone(imports.mapping)
		}
		return nil, err
	}
	planned, err := r.judge(ctx, ctr, p.forceRecreate)
	if err != nil {
		return nil, err
	}
	if imports != nil {
		if err := imports.mapping.resolve(ctx, ctr); err != nil {
			return nil, err
		}
		p.importDone(imports.mapping)
	}
	return planned, nil
}

// report is the pipeline's one report directory and its verdict.
func (p *pipelineRun) report(ctx context.Context, reproduce pipeline.Command) (*dagger.Directory, pipeline.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	slices.SortStableFunc(p.steps, func(a, b step) int { return pipeline.Compare(a.Step, b.Step) })
	outs := make([]pipeline.Outcome, len(p.steps))
	var all []findings.Finding
	var tools []string
	for i, s := range p.steps {
		outs[i] = s.Outcome
		all = append(all, s.findings...)
		tools = append(tools, s.tools...)
	}
	verdict := pipeline.Verdict(outs)
	res := pipeline.RunResult{
		Result:  pipeline.Result{Check: "pipeline", Env: p.r.env, Verdict: verdict, Reasons: pipeline.Reasons(outs, gate.Pass)},
		DryRun:  p.dryRun,
		Outputs: map[string]string{"verdict": string(verdict), "environment": string(p.r.env)},
	}
	findings.Sort(all)
	var sarif strings.Builder
	if err := findings.WriteSARIF(&sarif, findings.MergeSARIF(all, p.r.m.sarifOptions(ctx, tools))); err != nil {
		return nil, res.Result, fmt.Errorf("write results.sarif: %w", err)
	}

	// The header (verdict, step table, reasons) comes first and the reproduce line last;
	// report.Summary keeps both and fits the plan and the steps' sections between them into
	// GitHub's comment limit.
	run := pipeline.Run{Env: p.r.env, Why: p.why, DryRun: p.dryRun, TestsRan: p.tests != nil,
		NoChanges: p.planned != nil && !p.planned.analysis.Counts.HasChanges()}
	sections := []report.Section{report.Text(pipeline.Header(run, outs))}
	var files []string // name, contents, ...
	if p.planned != nil {
		planRes := report.NewResult(p.planned.analysis, p.planned.profile, p.planned.decision)
		res.Plan = &planRes
		sections = append(sections, report.PlanSection(planRes))
		if p.planned.risky != "" {
			sections = append(sections, report.Text(p.planned.risky))
		}
		if p.storedSection != "" {
			sections = append(sections, report.Text(p.storedSection))
		}
		files = append(files, "plan.txt", p.planned.text)
		for k, v := range p.planned.decision.Outputs {
			if k != "verdict" {
				res.Outputs[k] = v
			}
		}
	}
	for _, s := range p.steps {
		if s.markdown != "" {
			sections = append(sections, report.Text(s.markdown))
		}
		res.Steps = append(res.Steps, pipeline.StepResult{Name: s.Step, Verdict: s.Verdict, Reasons: s.Reasons, Findings: len(s.findings)})
	}
	res.Notifications = p.r.notify(ctx, p.notifyWebhooks, notify.Message{
		Check: "pipeline", Env: p.r.env, Verdict: string(verdict), Reasons: pipeline.Reasons(outs, gate.Warn),
		Counts: p.counts(), RunURL: p.runURL, Reproduce: reproduce.String(),
	})
	if md := notify.Markdown(res.Notifications); md != "" {
		sections = append(sections, report.Text(md))
	}
	sections = append(sections, report.Text(reproduce.Markdown()))
	summary := report.Summary(report.MaxMarkdown, sections...)
	res.Outputs["reproduce"] = reproduce.String()

	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, res.Result, fmt.Errorf("write result.json: %w", err)
	}
	junit, err := p.junit()
	if err != nil {
		return nil, res.Result, err
	}
	gh, err := p.r.m.gitHubFiles(res.Outputs, all, p.r.profile.SeverityThreshold)
	if err != nil {
		return nil, res.Result, err
	}
	files = append(files, gh...)
	files = append(files, "summary.md", summary, "comment.md", report.Comment(string(p.r.env), sections...),
		pipeline.ResultFile, string(js)+"\n",
		"results.sarif", sarif.String(), "junit.xml", string(junit))
	files = append(files, p.files...) // report holds p.mu
	dir, err := reportDir(ctx, files...)
	if err != nil {
		return nil, res.Result, err
	}
	// The state backup stays in the bucket's backup prefix (the summary names it): the report
	// is uploaded as a CI artifact, and a state holds secrets in clear text.
	return dir, res.Result, nil
}

// counts are the plan's counts a notification gives; none before a plan.
func (p *pipelineRun) counts() map[string]int {
	if p.planned == nil {
		return nil
	}
	c := p.planned.analysis.Counts
	return map[string]int{"create": c.Create, "update": c.Update, "replace": c.Replace, "delete": c.Delete, "import": c.Import}
}

// junit is junit.xml: every step as a check, and the post-deploy tests when they ran.
func (p *pipelineRun) junit() ([]byte, error) {
	checks := report.Suite{Name: "pipeline " + string(p.r.env)}
	for _, s := range p.steps {
		checks.Cases = append(checks.Cases, pipeline.JUnitCase(p.r.env, s.Outcome, s.markdown))
	}
	suites := []report.Suite{checks}
	if p.tests != nil {
		suites = append(suites, p.tests.suite())
	}
	data, err := report.JUnit(suites)
	if err != nil {
		return nil, fmt.Errorf("write junit.xml: %w", err)
	}
	return data, nil
}

// Verdict reads a report directory that was exported before the job failed (`pipeline
// --report-on-failure`, `drift --report-on-failure`) and fails with the reasons when it
// blocked; otherwise it prints e.g. "test pipeline: pass". The last step of a CI job, run
// after the report was uploaded.
func (m *Infra) Verdict(
	ctx context.Context,
	// The report directory, e.g. --report=./reports.
	report *dagger.Directory,
) (string, error) {
	data, err := report.File(pipeline.ResultFile).Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("read %s of the report: %w", pipeline.ResultFile, err)
	}
	res, err := pipeline.ReadResult(pipeline.ResultFile+" of the report", []byte(data))
	if err != nil {
		return "", err
	}
	if err := res.Err(); err != nil {
		return "", err
	}
	return res.String() + "\n", nil
}
