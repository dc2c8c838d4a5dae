package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/cost"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/ghactions"
	"github.com/infrapipe/infrapipe/ci/notify"
	"github.com/infrapipe/infrapipe/ci/plan"
	"github.com/infrapipe/infrapipe/ci/report"
	"github.com/infrapipe/infrapipe/ci/runs"
)

// Report is what one pipeline run gathered as its steps finished: the module fills it,
// Files turns it into the report directory. Steps may arrive in any order.
type Report struct {
	Run   Run
	Steps []StepReport
	// Plan is the judged plan, nil when the run did not get that far.
	Plan *PlanReport
	// Tests are the post-deploy tests, nil when they did not run.
	Tests *report.Suite
	// Notifications are the deliveries made for this run (see Message).
	Notifications []notify.Delivery
	// Record says where the run's record went (ci/runs), or why it was not written.
	Record    *runs.Written
	Reproduce Command
	// SARIF places findings in the repository; its Tools are taken from the steps.
	SARIF findings.SARIFOptions
	// FailAt is the severity whose annotations are errors rather than warnings.
	FailAt findings.Severity
	// Extra are more report files, name then contents, e.g. the import report.
	Extra []string
}

// Mask hides the secret variables file's values (SecretValues) from everything the report
// is made of, before its summary, result.json, notifications and run record are: each step
// masks where it writes, and this is the guard over all of them (a post-deploy failure, a
// tool's message).
func (r *Report) Mask(values []string) {
	if len(values) == 0 {
		return
	}
	for i := range r.Steps {
		s := &r.Steps[i]
		s.Reasons, s.Warnings = redactAll(s.Reasons, values), redactAll(s.Warnings, values)
		s.Markdown = Redact(s.Markdown, values)
		s.Findings = findings.Redact(s.Findings, values)
	}
	if r.Plan != nil {
		p := *r.Plan
		p.Text, p.Sections = Redact(p.Text, values), redactAll(p.Sections, values)
		p.Decision.Reasons = redactAll(p.Decision.Reasons, values)
		r.Plan = &p
	}
	if r.Tests != nil {
		t := *r.Tests
		t.Cases = slices.Clone(t.Cases)
		for i := range t.Cases {
			c := &t.Cases[i]
			c.Name, c.Failure, c.Skipped, c.Output = Redact(c.Name, values), Redact(c.Failure, values), Redact(c.Skipped, values), Redact(c.Output, values)
		}
		r.Tests = &t
	}
	r.Extra = RedactFiles(r.Extra, values)
}

// StepReport is one step's outcome and what the report shows of it.
type StepReport struct {
	Outcome
	Markdown string             // the step's section of the summary, "" for none
	Tools    []string           // the SARIF runs it contributes
	Findings []findings.Finding // its findings, for SARIF and annotations
	Cost     *cost.Report       // the cost step's estimate, when Infracost made one
	Suite    *report.Suite      // the step's own tests for junit.xml (lint's terraform test)
	// Started and Ended time the step for the run record and junit.xml.
	Started, Ended time.Time
}

// Took is how long the step ran; 0 when it was not timed.
func (s StepReport) Took() time.Duration {
	if s.Started.IsZero() || s.Ended.Before(s.Started) {
		return 0
	}
	return s.Ended.Sub(s.Started)
}

// PlanReport is the plan a run judged.
type PlanReport struct {
	Analysis *plan.Analysis
	Profile  environment.Profile
	Decision gate.Decision
	Text     string // terraform show, for plan.txt
	// Sections follow the plan in the summary: access and encryption changes, the stored
	// plan's reference. Empty ones are left out.
	Sections []string
	// VarFiles are the variables files the plan read (VarFiles.Names), for its summary.
	VarFiles []string
}

// Result is the plan's result.json (ci/report).
func (p *PlanReport) Result() report.Result {
	r := report.NewResult(p.Analysis, p.Profile, p.Decision)
	r.VarFiles = p.VarFiles
	return r
}

// Outcomes are the steps' outcomes in pipeline order.
func (r *Report) Outcomes() []Outcome {
	slices.SortStableFunc(r.Steps, func(a, b StepReport) int { return Compare(a.Step, b.Step) })
	outs := make([]Outcome, len(r.Steps))
	for i, s := range r.Steps {
		outs[i] = s.Outcome
	}
	return outs
}

// Err is the run's failure when it blocks, nil otherwise: the reasons of the steps that
// blocked, not every warning, which result.json and the summary list.
func (r *Report) Err() error {
	outs := r.Outcomes()
	return Result{Check: "pipeline", Env: r.Run.Env, Verdict: Verdict(outs), Reasons: Reasons(outs, gate.Block)}.Err()
}

// Findings are every step's findings.
func (r *Report) Findings() []findings.Finding {
	var all []findings.Finding
	for _, s := range r.Steps {
		all = append(all, s.Findings...)
	}
	return all
}

// Message is the notification of this run, before its link to the CI run.
func (r *Report) Message() notify.Message {
	outs := r.Outcomes()
	m := notify.Message{Check: "pipeline", Env: r.Run.Env, Verdict: string(Verdict(outs)), Reproduce: r.Reproduce.String(),
		Stack: r.Run.Stack, DryRun: r.Run.DryRun}
	for _, reason := range Reasons(outs, gate.Warn) {
		m.Reasons = append(m.Reasons, headline(reason, "the run's report"))
	}
	if r.Plan != nil {
		c := r.Plan.Analysis.Counts
		m.Counts = map[string]int{"create": c.Create, "update": c.Update, "replace": c.Replace, "delete": c.Delete, "import": c.Import}
	}
	return m
}

// Files is the report directory, name then contents: summary.md and comment.md (the header
// first and the reproduce line last, the plan and the steps' sections fitted between them
// into GitHub's limits), result.json, results.sarif, junit.xml, outputs.env,
// annotations.txt, plan.txt when there is a plan, and Extra. The result is returned too.
func (r *Report) Files() ([]string, RunResult, error) {
	outs := r.Outcomes()
	verdict := Verdict(outs)
	res := RunResult{
		Result: Result{Check: "pipeline", Env: r.Run.Env, Verdict: verdict, Reasons: Reasons(outs, gate.Pass),
			Notifications: r.Notifications},
		Record:  r.Record,
		DryRun:  r.Run.DryRun,
		Steps:   []StepResult{},
		Outputs: map[string]string{"verdict": string(verdict), "environment": string(r.Run.Env)},
	}
	if blocking := Reasons(outs, gate.Block); verdict == gate.Block && len(blocking) < len(res.Reasons) {
		res.Blocking = blocking
	}
	run := r.Run
	var files []string
	sections := []report.Section{}
	if r.Plan != nil {
		run.NoChanges = !r.Plan.Analysis.Counts.HasChanges()
		planRes := r.Plan.Result()
		res.Plan = &planRes
		sections = append(sections, report.PlanSection(planRes))
		for _, s := range r.Plan.Sections {
			if s != "" {
				sections = append(sections, report.Text(s))
			}
		}
		files = append(files, "plan.txt", r.Plan.Text)
		for k, v := range r.Plan.Decision.Outputs {
			if k != "verdict" {
				res.Outputs[k] = v
			}
		}
	}
	run.TestsRan = r.Tests != nil
	sections = append([]report.Section{report.Text(Header(run, outs))}, sections...)

	var all []findings.Finding
	sarif := r.SARIF
	checks := report.Suite{Name: "pipeline " + string(r.Run.Env)}
	for _, s := range r.Steps {
		if s.Markdown != "" {
			sections = append(sections, report.Text(s.Markdown))
		}
		res.Steps = append(res.Steps, StepResult{Name: s.Step, Verdict: s.Verdict, Reasons: s.Reasons, Warnings: s.Warnings, Findings: len(s.Findings)})
		checks.Cases = append(checks.Cases, JUnitCase(r.Run.Env, s))
		all = append(all, s.Findings...)
		sarif.Tools = append(sarif.Tools, s.Tools...)
	}
	if md := notify.Markdown(r.Notifications); md != "" {
		sections = append(sections, report.Text(md))
	}
	if r.Record != nil && r.Record.Markdown() != "" {
		sections = append(sections, report.Text(r.Record.Markdown()))
	}
	sections = append(sections, report.Text(r.Reproduce.Markdown()))
	res.Outputs["reproduce"] = r.Reproduce.String()

	findings.Sort(all)
	var sarifOut strings.Builder
	if err := findings.WriteSARIF(&sarifOut, findings.MergeSARIF(all, sarif)); err != nil {
		return nil, res, fmt.Errorf("write results.sarif: %w", err)
	}
	suites := []report.Suite{checks}
	for _, s := range r.Steps {
		if s.Suite != nil {
			suites = append(suites, *s.Suite)
		}
	}
	if r.Tests != nil {
		suites = append(suites, *r.Tests)
	}
	junit, err := report.JUnit(suites)
	if err != nil {
		return nil, res, fmt.Errorf("write junit.xml: %w", err)
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, res, fmt.Errorf("write result.json: %w", err)
	}
	gh, err := GitHubFiles(res.Outputs, all, ghactions.AnnotateOptions{Dir: sarif.Root, Fallback: sarif.Fallback, FailAt: r.FailAt})
	if err != nil {
		return nil, res, err
	}
	files = append(files, gh...)
	files = append(files, "summary.md", report.Summary(report.MaxMarkdown, sections...),
		"comment.md", report.Comment(string(r.Run.Env), sections...),
		ResultFile, string(js)+"\n", "results.sarif", sarifOut.String(), "junit.xml", string(junit))
	return append(files, r.Extra...), res, nil
}

// GitHubFiles are the report files a workflow hands to the runner, name then contents:
// outputs.env (appended to $GITHUB_OUTPUT) and annotations.txt (printed: the runner turns
// each line into an annotation on the pull request).
func GitHubFiles(outputs map[string]string, fs []findings.Finding, o ghactions.AnnotateOptions) ([]string, error) {
	env, err := outputsEnv(outputs)
	if err != nil {
		return nil, err
	}
	var annotations bytes.Buffer
	ghactions.Annotate(&annotations, fs, o)
	return []string{"outputs.env", env, "annotations.txt", annotations.String()}, nil
}

// outputsEnv is outputs.env: the outputs in the file format of $GITHUB_OUTPUT, by name, so
// the file is the same on every run.
func outputsEnv(outputs map[string]string) (string, error) {
	env, err := ghactions.RenderOutputs(ghactions.SortedOutputs(outputs))
	if err != nil {
		return "", fmt.Errorf("render outputs.env: %w", err)
	}
	return string(env), nil
}

// Facts are what the run record keeps of this report, over base (kind, commit, trigger,
// start): the verdict and reasons of its steps, each step's timing, the plan's counts, the
// findings, the cost estimate, and whether apply changed anything.
func (r *Report) Facts(base runs.Facts) runs.Facts {
	outs := r.Outcomes()
	f := base
	f.Verdict, f.Reasons, f.DryRun = Verdict(outs), Reasons(outs, gate.Pass), r.Run.DryRun
	f.Findings, f.Reproduce = r.Findings(), r.Reproduce.String()
	for _, s := range r.Steps {
		f.Steps = append(f.Steps, runs.StepOf(string(s.Step), s.Verdict, len(s.Findings), s.Started, s.Ended))
		if s.Step == StepApply && s.Verdict == gate.Pass {
			f.Applied = r.Plan != nil && r.Plan.Analysis.Counts.HasChanges()
		}
		if s.Cost != nil {
			f.Cost = s.Cost
		}
	}
	if r.Plan != nil {
		f.Plan = &r.Plan.Analysis.Counts
	}
	return f
}
