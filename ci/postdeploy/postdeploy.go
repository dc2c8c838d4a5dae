// Package postdeploy decides what the post-deploy tests of an environment run and what
// each one concludes: the deployment converged (a fresh plan has nothing to do), the cloud
// API agrees with the state (ci/livecheck's deployment and security checks), the outputs
// are readable, every health endpoint among them answers, and monitoring exists.
// pipeline.yaml's post_deploy picks the categories; a category left out is reported as
// skipped, saying why, never as passed. The Dagger module only runs terraform for it.
package postdeploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/livecheck"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/report"
)

// Runner runs terraform with args in the deployed environment's initialized working
// directory and returns its exit code and output. An error means it could not run at all;
// a command that ran and failed is a code, which the checks judge.
type Runner func(ctx context.Context, args []string) (code int, stdout, stderr string, err error)

// Checks is what the post-deploy tests of one environment need from whoever runs them.
type Checks struct {
	Env       environment.Name
	Profile   environment.Profile // its PostDeploy picks the categories
	Terraform Runner
	PlanArgs  []string // for the converged plan: lock and var-file arguments
	// Clients ask the account the live checks; Endpoint is the emulator's as this process
	// reaches it ("" for AWS), and Alias the host name containers reach it by: health URLs
	// on Alias are asked through Endpoint.
	Clients  livecheck.Clients
	Endpoint string
	Alias    string
	Health   livecheck.HealthOptions // zero: livecheck's bounds for a fresh service
	// Masked are the secret variables file's values (pipeline.SecretValues), hidden from
	// every case: a health URL or a plan's text may hold one.
	Masked []string
}

// Case is one post-deploy check.
type Case struct {
	Name    string
	Failure string // empty when it passed
	Skipped string // why it did not run
	Note    string // what a passing check did not cover
	Elapsed time.Duration
}

// Suite is the post-deploy checks of one environment.
type Suite struct {
	Env     string
	Project string // names the JUnit suite when set
	Cases   []Case
}

// Failed are the failures, "<check>: <why>" each, as a step's reasons.
func (s *Suite) Failed() []string {
	var out []string
	for _, c := range s.Cases {
		if c.Failure != "" {
			out = append(out, c.Name+": "+c.Failure)
		}
	}
	return out
}

// Step is the suite as a pipeline step.
func (s *Suite) Step() pipeline.StepReport {
	step := pipeline.StepReport{Outcome: pipeline.TestsOutcome(s.Failed())}
	cases := make([]pipeline.TestCase, len(s.Cases))
	for i, c := range s.Cases {
		result := "pass"
		switch {
		case c.Failure != "":
			result = "FAIL: " + c.Failure
		case c.Skipped != "":
			result = "skipped: " + c.Skipped
		case c.Note != "":
			result = "pass (" + c.Note + ")"
		}
		cases[i] = pipeline.TestCase{Name: c.Name, Result: result}
	}
	step.Markdown = pipeline.TestsSection(cases)
	return step
}

// JUnit is the suite for ci/report's junit.xml: a failure's first line is its message,
// the whole of it the case's output.
func (s *Suite) JUnit() report.Suite {
	name := "post-deploy " + s.Env
	if s.Project != "" {
		name += " (" + s.Project + ")"
	}
	suite := report.Suite{Name: name}
	for _, c := range s.Cases {
		tc := report.Case{Name: c.Name, Classname: s.Env, Time: c.Elapsed, Skipped: c.Skipped, Output: c.Note}
		if c.Failure != "" {
			tc.Failure = strings.SplitN(c.Failure, "\n", 2)[0]
			tc.Output = c.Failure
		}
		suite.Cases = append(suite.Cases, tc)
	}
	return suite
}

// Files are the test function's report, name then contents: junit.xml, summary.md (the
// checks, then the reproduce line) and result.json.
func (s *Suite) Files(env environment.Name, reproduce pipeline.Command) ([]string, error) {
	junit, err := report.JUnit([]report.Suite{s.JUnit()})
	if err != nil {
		return nil, fmt.Errorf("write junit.xml: %w", err)
	}
	result, err := json.MarshalIndent(pipeline.TestsResult(env, s.Failed()), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", pipeline.ResultFile, err)
	}
	return []string{"junit.xml", string(junit), "summary.md", s.Step().Markdown + reproduce.Markdown(),
		pipeline.ResultFile, string(result) + "\n"}, nil
}

// Err fails the test function when a check failed, naming each.
func (s *Suite) Err() error {
	if failed := s.Failed(); len(failed) > 0 {
		return fmt.Errorf("post-deploy tests failed in %s: %s", s.Env, strings.Join(failed, "; "))
	}
	return nil
}

// The checks' names, as reports and the end-to-end suite read them.
const (
	ConvergedName = "deployment converged (plan has no changes)"
	OutputsName   = "outputs readable"
	HealthName    = "health endpoints answer"
)

// Run runs the checks the profile asks for. Each is its own terraform command or API call,
// so one failing does not hide the others. The error is for a command that could not run
// at all; a check that fails is a case of the suite.
func Run(ctx context.Context, c Checks) (*Suite, error) {
	s, err := run(ctx, c)
	if s != nil {
		for i, tc := range s.Cases {
			s.Cases[i].Name = pipeline.Redact(tc.Name, c.Masked)
			s.Cases[i].Failure = pipeline.Redact(tc.Failure, c.Masked)
			s.Cases[i].Skipped = pipeline.Redact(tc.Skipped, c.Masked)
			s.Cases[i].Note = pipeline.Redact(tc.Note, c.Masked)
		}
	}
	return s, err
}

func run(ctx context.Context, c Checks) (*Suite, error) {
	s := &Suite{Env: string(c.Env)}
	// terraform runs one command: its exit code and its output (with stderr when it failed,
	// where the error is).
	terraform := func(args ...string) (int, string, error) {
		code, stdout, stderr, err := c.Terraform(ctx, args)
		if err != nil {
			return 0, "", fmt.Errorf("terraform: %w", err)
		}
		if code != 0 {
			return code, stdout + "\n" + stderr, nil
		}
		return 0, stdout, nil
	}
	// skip records a category that pipeline.yaml's post_deploy leaves out, so the report
	// says it did not run rather than that it passed.
	skip := func(name string) {
		s.Cases = append(s.Cases, Case{Name: name, Skipped: "not in post_deploy for " + string(c.Env) + " in pipeline.yaml"})
	}

	// The state's resources, for the live checks, and to tell an environment that was never
	// deployed from one that did not converge.
	live, err := readState(terraform)
	if err != nil {
		return nil, err
	}
	live.clients = c.Clients

	// Converged: a plan after the apply has nothing left to do.
	if c.Profile.RunsPostDeploy(environment.PostDeployConverged) {
		start := time.Now()
		code, out, err := terraform(append([]string{"plan", "-input=false", "-no-color", "-detailed-exitcode"}, c.PlanArgs...)...)
		if err != nil {
			return nil, err
		}
		tc := Case{Name: ConvergedName, Elapsed: time.Since(start)}
		switch {
		case code == 0:
		case code == 2 && live.empty():
			tc.Failure = fmt.Sprintf("nothing is deployed: the state of %s holds no resources (never applied?), so the plan creates everything:\n%s", c.Env, report.Tail(out, 5))
		case code == 2:
			tc.Failure = "terraform plan still has changes after the apply:\n" + planHeadlines(out, maxHeadlines)
		default:
			tc.Failure = fmt.Sprintf("terraform plan failed (exit code %d):\n%s", code, report.Tail(out, 20))
		}
		s.Cases = append(s.Cases, tc)
	} else {
		skip(ConvergedName)
	}

	// Deployment and security: the cloud API, not the state, says what exists and how it is
	// set (ci/livecheck), for the resources the state records.
	for _, check := range []struct {
		category environment.PostDeployCheck
		name     string
		run      liveCheck
	}{
		{environment.PostDeployDeployment, livecheck.DeploymentName, livecheck.Deployment},
		{environment.PostDeploySecurity, livecheck.SecurityName, livecheck.Security},
	} {
		if !c.Profile.RunsPostDeploy(check.category) {
			skip(check.name)
			continue
		}
		s.Cases = append(s.Cases, live.run(ctx, check.name, check.run))
	}

	// Outputs, and the health endpoints among them.
	wantOutputs, wantHealth := c.Profile.RunsPostDeploy(environment.PostDeployOutputs), c.Profile.RunsPostDeploy(environment.PostDeployHealth)
	var endpoints []pipeline.Endpoint
	if wantOutputs || wantHealth {
		start := time.Now()
		code, out, err := terraform("output", "-json", "-no-color")
		if err != nil {
			return nil, err
		}
		tc := Case{Name: OutputsName, Elapsed: time.Since(start)}
		if code != 0 {
			tc.Failure = fmt.Sprintf("terraform output failed (exit code %d):\n%s", code, report.Tail(out, 20))
		} else if endpoints, err = pipeline.HealthEndpoints([]byte(out)); err != nil {
			tc.Failure = err.Error()
		}
		if wantOutputs || tc.Failure != "" { // health needs the outputs: their failure counts
			s.Cases = append(s.Cases, tc)
		} else {
			skip(OutputsName)
		}
	} else {
		skip(OutputsName)
	}
	switch {
	case !wantHealth:
		skip(HealthName)
	case len(endpoints) == 0:
		s.Cases = append(s.Cases, Case{Name: HealthName, Skipped: "no *_url or *_endpoint output with an http(s) URL"})
	}
	for _, e := range endpoints {
		if !wantHealth {
			break
		}
		// Asked from this process, with retries and a bounded wait for a fresh service.
		start := time.Now()
		_, err := livecheck.Health(ctx, livecheck.ViaEndpoint(e.URL, c.Alias, c.Endpoint), c.Health)
		tc := Case{Name: "health endpoint " + e.Output + " answers", Elapsed: time.Since(start)}
		if err != nil {
			tc.Failure = err.Error()
		}
		s.Cases = append(s.Cases, tc)
	}

	// Monitoring: alarms are part of the deployment, unless the stack says it has none, and
	// each notifies a topic somebody is subscribed to.
	if !c.Profile.RunsPostDeploy(environment.PostDeployMonitoring) {
		skip(livecheck.MonitoringName)
		return s, nil
	}
	s.Cases = append(s.Cases, live.run(ctx, livecheck.MonitoringName, livecheck.Monitoring))
	return s, nil
}

// liveCheck is one of ci/livecheck's checks.
type liveCheck func(context.Context, livecheck.Clients, []livecheck.Resource) (livecheck.Result, error)

// liveState is what the live checks need: the state's resources and the API clients.
type liveState struct {
	clients   livecheck.Clients
	resources []livecheck.Resource
	err       string // why the state could not be read: every live check fails with it
}

// empty reports whether the state was read and holds no managed resource.
func (ls *liveState) empty() bool { return ls.err == "" && len(ls.resources) == 0 }

// readState reads the state's resources with terraform show -json.
func readState(terraform func(...string) (int, string, error)) (*liveState, error) {
	ls := &liveState{}
	code, out, err := terraform("show", "-json", "-no-color")
	if err != nil {
		return nil, err
	}
	if code != 0 {
		ls.err = fmt.Sprintf("terraform show -json failed (exit code %d):\n%s", code, report.Tail(out, 20))
	} else if ls.resources, err = livecheck.Resources([]byte(out)); err != nil {
		ls.err = err.Error()
	}
	return ls, nil
}

// run runs one live check as a test case; an API that cannot be asked fails the case.
func (ls *liveState) run(ctx context.Context, name string, check liveCheck) Case {
	start := time.Now()
	res, err := check(ctx, ls.clients, ls.resources)
	c := Case{Name: name, Failure: res.Failure, Skipped: res.Skipped, Note: res.Note, Elapsed: time.Since(start)}
	switch {
	case ls.err != "":
		c.Failure = ls.err
	case err != nil:
		c.Failure = err.Error()
	}
	return c
}

// maxHeadlines bounds the resources a converged failure names; the plan has the rest.
const maxHeadlines = 20

// planHeadlines is what terraform plan's text (-no-color) says it would change: each
// resource's headline ("# terraform_data.app will be updated in-place"), at most max of
// them, then its "Plan:" line. The output's tail alone showed the last resource's
// attributes and cut the others off.
func planHeadlines(out string, max int) string {
	var heads []string
	total, summary := 0, ""
	for _, line := range strings.Split(out, "\n") {
		switch t := strings.TrimSpace(line); {
		// Terraform indents a resource's headline by two spaces, comments inside its body
		// by more.
		case strings.HasPrefix(line, "  # "):
			if total++; len(heads) < max {
				heads = append(heads, t)
			}
		case strings.HasPrefix(t, "Plan: "):
			summary = t
		}
	}
	if total == 0 { // a format this does not know: show what it ended with
		return report.Tail(out, 20)
	}
	if total > len(heads) {
		heads = append(heads, fmt.Sprintf("… and %d more", total-len(heads)))
	}
	if summary != "" {
		heads = append(heads, summary)
	}
	return strings.Join(heads, "\n")
}
