package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/report"
)

// Pipeline runs one environment's whole pipeline, the steps its profile asks for:
// fmt/validate and lint, security scan, import of existing resources, plan with the safety
// gate, compliance and cost on the plan, state backup, apply of the saved plan, and
// post-deploy tests. Independent steps run in parallel. It returns one report directory
// (summary.md, result.json, results.sarif, junit.xml, outputs.env, annotations.txt,
// plan.txt) and fails with the reason when a step blocks.
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
	infracostAPIKey *dagger.Secret,
) (*dagger.Directory, error) {
	gh := gitHub{githubEventName, githubRef, requestedEnv, githubEvent}
	var why string
	if env == "" {
		if !gh.given() {
			return nil, fmt.Errorf("no environment: pass --env (preview, test, staging or prod) or the GitHub values (--github-event-name, --github-ref, --requested-env)")
		}
		ctxGH, err := m.gitHubContext(ctx, gh)
		if err != nil {
			return nil, err
		}
		env, why = string(ctxGH.Target.Name), ctxGH.Target.Why
		forceRecreate = forceRecreate || ctxGH.Inputs.ForceRecreate
		dryRun = dryRun || ctxGH.Inputs.DryRun
		skipTests = skipTests || ctxGH.Inputs.SkipTests
	}
	r, err := m.newRun(ctx, env, awsCredentials{awsAccessKeyID, awsSecretAccessKey, awsSessionToken})
	if err != nil {
		return nil, err
	}
	p := &pipeline{r: r, dryRun: dryRun, skipTests: skipTests, forceRecreate: forceRecreate,
		project: project, infracostAPIKey: infracostAPIKey, why: why}
	p.run(ctx)

	args := []string{"--env=" + env}
	for flag, on := range map[string]bool{"--dry-run": dryRun, "--skip-tests": skipTests, "--force-recreate": forceRecreate} {
		if on {
			args = append(args, flag)
		}
	}
	slices.Sort(args[1:])
	if project != "" {
		args = append(args, "--project="+project)
	}
	if infracostAPIKey != nil {
		args = append(args, "--infracost-api-key=env:INFRACOST_API_KEY")
	}
	dir, err := p.report(ctx, r.reproduce("pipeline", args...))
	if err != nil {
		return nil, err
	}
	if p.verdict() == gate.Block && !reportOnFailure {
		return nil, fmt.Errorf("%s pipeline blocked:\n- %s\nReproduce with: %s", env, strings.Join(p.blockReasons(), "\n- "), r.reproduce("pipeline", args...))
	}
	return dir, nil
}

// pipeline is one Pipeline call: its options and, as steps finish, their results.
type pipeline struct {
	r               *run
	dryRun          bool
	skipTests       bool
	forceRecreate   bool
	project         string
	infracostAPIKey *dagger.Secret
	why             string

	mu    sync.Mutex
	steps []step
	plan  *planRun
	apply *applyResult
	tests *testSuite
	files *dagger.Directory // extra report files, e.g. the import report
}

// step is one step's outcome. A failed check is Block; a step that could not run is Warn,
// or Block where the profile makes failures block (prod).
type step struct {
	name     string
	verdict  gate.Verdict
	reasons  []string
	markdown string
	tools    []string
	findings []findings.Finding
}

func (p *pipeline) add(s step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.steps = append(p.steps, s)
}

// broken records a step that could not run.
func (p *pipeline) broken(name string, err error) {
	v := gate.Warn
	if p.r.profile.FailuresBlock {
		v = gate.Block
	}
	p.add(step{name: name, verdict: v, reasons: []string{fmt.Sprintf("%s could not run: %v", name, err)},
		markdown: fmt.Sprintf("## %s\n\nCould not run:\n\n```\n%s\n```\n", name, tail(err.Error(), 40))})
}

func (p *pipeline) has(c environment.Check) bool { return slices.Contains(p.r.profile.Checks, c) }

// run executes the steps in dependency order; independent ones run in parallel. Step
// failures are recorded, not returned, so the report always covers every step. Nothing is
// applied before every check has finished and none blocked.
func (p *pipeline) run(ctx context.Context) {
	m := p.r.m
	// Static checks need no state and run beside import and plan; apply waits for them.
	var static sync.WaitGroup
	if p.has(environment.CheckFmt) || p.has(environment.CheckValidate) || p.has(environment.CheckLint) {
		static.Add(1)
		go func() {
			defer static.Done()
			res, err := m.lint(ctx)
			if err != nil {
				p.broken("Lint", err)
				return
			}
			if !p.has(environment.CheckLint) {
				res.tflint = nil // basic validation: fmt and validate only
			}
			s := step{name: "Lint", verdict: gate.Pass, markdown: res.markdown(), tools: []string{"tflint"}, findings: res.tflint}
			if !res.passed() {
				s.verdict, s.reasons = gate.Block, []string{"lint failed: see the Lint section"}
			}
			p.add(s)
		}()
	}
	if p.has(environment.CheckSecurity) {
		static.Add(1)
		go func() {
			defer static.Done()
			res, err := m.securityScan(ctx)
			if err != nil {
				p.broken("Security scan", err)
				return
			}
			p.addFindings("Security scan", res)
		}()
	}
	p.deploy(ctx, static.Wait)
	static.Wait()
}

// addFindings records a findings step judged against the environment's threshold.
func (p *pipeline) addFindings(name string, res scanResult) {
	verdict := findings.Evaluate(res.findings, p.r.profile.SeverityThreshold)
	s := step{name: name, verdict: gate.Pass, tools: res.tools, findings: res.findings,
		markdown: "## " + name + "\n\n" + findings.Markdown(res.findings, verdict, res.notices, 30)}
	if !verdict.Passed() {
		s.verdict = gate.Block
		s.reasons = []string{fmt.Sprintf("%s: %d finding(s) at or above %s", strings.ToLower(name), len(verdict.Failing), p.r.profile.SeverityThreshold)}
	}
	p.add(s)
}

// deploy is the stateful chain: import, plan and gate, then compliance and cost on the plan
// in parallel, then backup and apply, then post-deploy tests.
func (p *pipeline) deploy(ctx context.Context, staticChecks func()) {
	r := p.r
	imports, err := p.importStep(ctx)
	if err != nil {
		p.broken("Import", err)
		return
	}
	ctr, err := r.initialized(ctx)
	if err == nil && imports != nil {
		ctr = ctr.WithFile(imports.path, imports.file)
	}
	if err == nil {
		ctr, err = r.planned(ctx, ctr)
	}
	var planned *planRun
	if err == nil {
		planned, err = r.judge(ctx, ctr, p.forceRecreate)
	}
	if err == nil && imports != nil {
		if err = imports.mapping.resolve(ctx, ctr); err == nil {
			p.importDone(imports.mapping)
		}
	}
	if err != nil {
		p.add(step{name: "Plan", verdict: gate.Block, reasons: []string{err.Error()},
			markdown: fmt.Sprintf("## Plan\n\nFailed:\n\n```\n%s\n```\n", tail(err.Error(), 60))})
		return
	}
	p.mu.Lock()
	p.plan = planned
	p.mu.Unlock()
	p.add(step{name: "Plan", verdict: planned.decision.Verdict, reasons: planned.decision.Reasons})

	g, gctx := errgroup.WithContext(ctx)
	if p.has(environment.CheckCompliance) {
		g.Go(func() error {
			res, err := r.compliance(gctx, planned.jsonFile())
			if err != nil {
				p.broken("Compliance", err)
				return nil
			}
			p.addFindings("Compliance", res)
			return nil
		})
	}
	if p.has(environment.CheckCost) {
		g.Go(func() error {
			s, err := r.costStep(gctx, planned.jsonFile(), p.infracostAPIKey)
			if err != nil {
				p.broken("Cost", err)
				return nil
			}
			p.add(s)
			return nil
		})
	}
	_ = g.Wait()
	staticChecks()

	if p.dryRun || p.verdict() == gate.Block {
		return
	}
	res := &applyResult{plan: planned}
	if planned.analysis.Counts.HasChanges() {
		if r.profile.BackupState {
			if res.backup, err = r.backup(ctx, ctr); err != nil {
				p.add(step{name: "Apply", verdict: gate.Block, reasons: []string{"state backup failed, nothing was applied: " + err.Error()}})
				return
			}
		}
		applied, err := r.applied(ctx, ctr, planned.planFile())
		if err != nil {
			reason := err.Error()
			if res.backup.file != nil {
				reason += "\nthe state before this apply is backed up at " + res.backup.key + ": see restore-state"
			}
			p.add(step{name: "Apply", verdict: gate.Block, reasons: []string{reason},
				markdown: "## Apply\n\n" + res.backup.markdown() + "\nFailed:\n\n```\n" + tail(err.Error(), 60) + "\n```\n"})
			return
		}
		res.log = applied.File(path.Join(outDir, "apply.log"))
	}
	p.mu.Lock()
	p.apply = res
	p.mu.Unlock()
	p.add(step{name: "Apply", verdict: gate.Pass, markdown: "## Apply\n\n" + applyLine(res) + res.backup.markdown()})

	if p.skipTests {
		return
	}
	ts, err := r.postDeploy(ctx, ctr)
	if err != nil {
		p.broken("Post-deploy tests", err)
		return
	}
	p.add(ts.step())
	p.mu.Lock()
	p.tests = ts
	p.mu.Unlock()
}

func applyLine(a *applyResult) string {
	if a.log == nil {
		return "- Nothing to apply: the plan has no changes.\n"
	}
	return "- Applied the saved plan of this run.\n"
}

// verdict combines the steps: the most serious wins.
func (p *pipeline) verdict() gate.Verdict {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := gate.Pass
	for _, s := range p.steps {
		v = gate.Worse(v, s.verdict)
	}
	return v
}

// blockReasons lists why the pipeline blocked.
func (p *pipeline) blockReasons() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, s := range p.steps {
		if s.verdict == gate.Block {
			for _, reason := range s.reasons {
				out = append(out, s.name+": "+reason)
			}
		}
	}
	return out
}

// stepOrder is the order of the summary's sections, whatever order steps finished in.
var stepOrder = []string{"Lint", "Security scan", "Import", "Plan", "Compliance", "Cost", "Apply", "Post-deploy tests"}

// report is the pipeline's one report directory.
func (p *pipeline) report(ctx context.Context, reproduce string) (*dagger.Directory, error) {
	verdict := p.verdict()
	p.mu.Lock()
	defer p.mu.Unlock()
	slices.SortFunc(p.steps, func(a, b step) int {
		return slices.Index(stepOrder, a.name) - slices.Index(stepOrder, b.name)
	})
	var all []findings.Finding
	var tools []string
	for _, s := range p.steps {
		all = append(all, s.findings...)
		tools = append(tools, s.tools...)
	}
	findings.Sort(all)
	var sarif strings.Builder
	if err := findings.WriteSARIF(&sarif, findings.MergeSARIF(all, p.r.m.sarifOptions(ctx, tools))); err != nil {
		return nil, fmt.Errorf("write results.sarif: %w", err)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "# %s pipeline: %s\n\n", p.r.env, verdict)
	if p.why != "" {
		fmt.Fprintf(&b, "Environment chosen by %s.\n\n", p.why)
	}
	if p.dryRun {
		b.WriteString("Dry run: nothing was imported or applied.\n\n")
	}
	b.WriteString("| step | verdict |\n|---|---|\n")
	for _, s := range p.steps {
		fmt.Fprintf(&b, "| %s | %s |\n", s.name, s.verdict)
	}
	b.WriteString("\n")
	for _, s := range p.steps {
		if s.verdict != gate.Pass {
			for _, reason := range s.reasons {
				fmt.Fprintf(&b, "- **%s** %s: %s\n", s.verdict, s.name, reason)
			}
		}
	}
	outputs := map[string]string{"verdict": string(verdict), "environment": string(p.r.env)}
	result := pipelineResult{Env: p.r.env, Verdict: verdict, DryRun: p.dryRun, Reasons: p.reasonsLocked(), Outputs: outputs}
	dir := dag.Directory()
	if p.plan != nil {
		res := report.NewResult(p.plan.analysis, p.plan.profile, p.plan.decision)
		result.Plan = &res
		b.WriteString("\n" + report.Markdown(res, "") + "\n")
		dir = dir.WithNewFile("plan.txt", p.plan.text)
		for k, v := range p.plan.decision.Outputs {
			if k != "verdict" {
				outputs[k] = v
			}
		}
	}
	for _, s := range p.steps {
		if s.markdown != "" {
			b.WriteString("\n" + s.markdown + "\n")
		}
	}
	b.WriteString(footer(reproduce))

	for _, s := range p.steps {
		result.Steps = append(result.Steps, stepResult{Name: s.name, Verdict: s.verdict, Reasons: s.reasons, Findings: len(s.findings)})
	}
	js, err := json.MarshalIndent(result, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write result.json: %w", err)
	}
	junit, err := p.junit()
	if err != nil {
		return nil, err
	}
	gh, err := p.r.m.gitHubFiles(outputs, all, p.r.profile.SeverityThreshold)
	if err != nil {
		return nil, err
	}
	dir = dir.
		WithDirectory(".", gh).
		WithNewFile("summary.md", b.String()).
		WithNewFile("result.json", string(js)+"\n").
		WithNewFile("results.sarif", sarif.String()).
		WithNewFile("junit.xml", string(junit))
	if p.files != nil {
		dir = dir.WithDirectory(".", p.files)
	}
	// The state backup stays in the bucket's backup prefix (the summary names it): the report
	// is uploaded as a CI artifact, and a state holds secrets in clear text.
	return dir, nil
}

// junit is junit.xml: every step as a check, and the post-deploy tests when they ran.
func (p *pipeline) junit() ([]byte, error) {
	checks := report.Suite{Name: "pipeline " + string(p.r.env)}
	for _, s := range p.steps {
		c := report.Case{Name: s.name, Classname: string(p.r.env)}
		if s.verdict == gate.Block {
			c.Failure = strings.Join(s.reasons, "; ")
			c.Output = s.markdown
		}
		checks.Cases = append(checks.Cases, c)
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

func (p *pipeline) reasonsLocked() []string {
	var out []string
	for _, s := range p.steps {
		for _, reason := range s.reasons {
			out = append(out, s.name+": "+reason)
		}
	}
	return out
}

// pipelineResult is result.json: what `verdict` and other tools read.
type pipelineResult struct {
	Env     environment.Name  `json:"env"`
	Verdict gate.Verdict      `json:"verdict"`
	DryRun  bool              `json:"dry_run"`
	Reasons []string          `json:"reasons"`
	Steps   []stepResult      `json:"steps"`
	Outputs map[string]string `json:"outputs"`
	// Plan is the plan's own result (ci/report), when the pipeline got that far.
	Plan *report.Result `json:"plan,omitempty"`
}

type stepResult struct {
	Name     string       `json:"name"`
	Verdict  gate.Verdict `json:"verdict"`
	Reasons  []string     `json:"reasons,omitempty"`
	Findings int          `json:"findings"`
}

// Verdict reads a pipeline report directory (from `pipeline --report-on-failure`) and fails
// with the reasons when the pipeline blocked: the last step of a CI job, after the report
// was uploaded.
func (m *Infra) Verdict(
	ctx context.Context,
	// The report directory, e.g. --report=./reports.
	report *dagger.Directory,
) (string, error) {
	data, err := report.File("result.json").Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("read result.json of the report: %w", err)
	}
	var res pipelineResult
	if err := json.Unmarshal([]byte(data), &res); err != nil {
		return "", fmt.Errorf("result.json of the report: %w", err)
	}
	switch res.Verdict {
	case gate.Pass, gate.Warn:
		return fmt.Sprintf("%s pipeline: %s\n", res.Env, res.Verdict), nil
	case gate.Block:
		return "", fmt.Errorf("%s pipeline blocked:\n- %s", res.Env, strings.Join(res.Reasons, "\n- "))
	default:
		return "", fmt.Errorf("result.json of the report: verdict %q: valid values are pass, warn, block", res.Verdict)
	}
}
