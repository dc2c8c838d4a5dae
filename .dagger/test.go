package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/livecheck"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/report"
)

// Test checks a deployed environment and returns junit.xml, summary.md and result.json: the deployment
// converged (a fresh plan has nothing to do: every resource exists as configured), its
// outputs are readable, every health endpoint among the outputs (*_url, *_endpoint with an
// http(s) value) answers, and monitoring exists (CloudWatch alarms in the state); pipeline.yaml's
// post_deploy picks the categories per environment. It fails when a check fails, unless
// --report-on-failure.
//
// +cache="never"
func (m *Infra) Test(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
	// Project the deployment belongs to; names the test suite.
	// +optional
	project string,
	// Skip checks that create or delete resources. The current checks only read, so this
	// changes nothing yet; the flag is accepted for run-all-tests.sh.
	// +optional
	skipDestructive bool,
	// Return the report (junit.xml, summary.md) even when a check fails, so CI can upload it;
	// then run "verdict" on it to fail the job.
	// +optional
	reportOnFailure bool,
) (*dagger.Directory, error) {
	creds, err := m.credentials(ctx)
	if err != nil {
		return nil, err
	}
	reproduce := m.envCall("test", env, creds).Flag("project", project).Bool("skip-destructive", skipDestructive).
		Bool("report-on-failure", reportOnFailure)
	r, ctr, err := m.initializedRun(ctx, env, creds)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	ts, err := r.postDeploy(ctx, ctr)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	ts.project = project
	junit, err := report.JUnit([]report.Suite{ts.suite()})
	if err != nil {
		return nil, fmt.Errorf("write junit.xml: %w", err)
	}
	result, err := json.MarshalIndent(pipeline.TestsResult(r.env, ts.failed()), "", "  ")
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	dir, err := reportDir(ctx, "junit.xml", string(junit), "summary.md", ts.step().Markdown+reproduce.Markdown(),
		pipeline.ResultFile, string(result)+"\n")
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	if failed := ts.failed(); len(failed) > 0 && !reportOnFailure {
		return nil, reproduce.Wrap(fmt.Errorf("post-deploy tests failed in %s: %s", env, strings.Join(failed, "; ")))
	}
	return dir, nil
}

// testCase is one post-deploy check.
type testCase struct {
	name    string
	failure string // empty when it passed
	skipped string // why it did not run
	elapsed time.Duration
}

// testSuite is the post-deploy checks of one environment.
type testSuite struct {
	env     string
	project string
	cases   []testCase
}

func (t *testSuite) failed() []string {
	var out []string
	for _, c := range t.cases {
		if c.failure != "" {
			out = append(out, c.name+": "+c.failure)
		}
	}
	return out
}

// step is the suite as a pipeline step.
func (t *testSuite) step() pipeline.StepReport {
	s := pipeline.StepReport{Outcome: pipeline.TestsOutcome(t.failed())}
	cases := make([]pipeline.TestCase, len(t.cases))
	for i, c := range t.cases {
		result := "pass"
		switch {
		case c.failure != "":
			result = "FAIL: " + c.failure
		case c.skipped != "":
			result = "skipped: " + c.skipped
		}
		cases[i] = pipeline.TestCase{Name: c.name, Result: result}
	}
	s.Markdown = pipeline.TestsSection(cases)
	return s
}

// postDeploy runs the checks in an initialized container of the environment. Each check is
// its own exec, so one failing does not hide the others.
func (r *run) postDeploy(ctx context.Context, ctr *dagger.Container) (*testSuite, error) {
	ts := &testSuite{env: string(r.env)}
	ctr = ctr.WithEnvVariable("CACHEBUSTER", cacheBuster())
	// runCheck runs one check's command: its exit code, and its output (with stderr when it
	// failed, where the error is). The output stays out of the log: terraform output -json
	// holds sensitive values in clear text, and the checks' results go to the report.
	runCheck := func(args []string) (int, string, error) {
		res, err := execQuiet(ctx, ctr, args)
		if err != nil {
			return 0, "", fmt.Errorf("%s: %w", args[0], err)
		}
		if res.code != 0 {
			return res.code, res.output(), nil
		}
		return 0, res.stdout, nil
	}

	// skip records a category that pipeline.yaml's post_deploy leaves out, so the report
	// says it did not run rather than that it passed.
	skip := func(name string) {
		ts.cases = append(ts.cases, testCase{name: name, skipped: "not in post_deploy for " + string(r.env) + " in pipeline.yaml"})
	}

	// Converged: a plan after the apply has nothing left to do.
	if r.profile.RunsPostDeploy(environment.PostDeployConverged) {
		vars, err := r.varFileArgs(ctx)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		planArgs := append([]string{"terraform", "plan", "-input=false", "-no-color", "-detailed-exitcode"}, r.lockArgs()...)
		code, out, err := runCheck(append(planArgs, vars...))
		if err != nil {
			return nil, err
		}
		c := testCase{name: "deployment converged (plan has no changes)", elapsed: time.Since(start)}
		switch code {
		case 0:
		case 2:
			c.failure = "terraform plan still has changes after the apply:\n" + pipeline.Tail(out, 20)
		default:
			c.failure = fmt.Sprintf("terraform plan failed (exit code %d):\n%s", code, pipeline.Tail(out, 20))
		}
		ts.cases = append(ts.cases, c)
	} else {
		skip("deployment converged (plan has no changes)")
	}

	// Deployment and security: the cloud API, not the state, says what exists and how it is
	// set (ci/livecheck), for the resources the state records.
	live, err := r.liveClients(ctx, runCheck)
	if err != nil {
		return nil, err
	}
	for _, check := range []struct {
		category environment.PostDeployCheck
		name     string
		run      func(context.Context, livecheck.Clients, []livecheck.Resource) (livecheck.Result, error)
	}{
		{environment.PostDeployDeployment, livecheck.DeploymentName, livecheck.Deployment},
		{environment.PostDeploySecurity, livecheck.SecurityName, livecheck.Security},
	} {
		if !r.profile.RunsPostDeploy(check.category) {
			skip(check.name)
			continue
		}
		ts.cases = append(ts.cases, live.run(ctx, check.name, check.run))
	}

	// Outputs, and the health endpoints among them.
	wantOutputs, wantHealth := r.profile.RunsPostDeploy(environment.PostDeployOutputs), r.profile.RunsPostDeploy(environment.PostDeployHealth)
	var endpoints []pipeline.Endpoint
	if wantOutputs || wantHealth {
		start := time.Now()
		code, out, err := runCheck([]string{"terraform", "output", "-json", "-no-color"})
		if err != nil {
			return nil, err
		}
		c := testCase{name: "outputs readable", elapsed: time.Since(start)}
		if code != 0 {
			c.failure = fmt.Sprintf("terraform output failed (exit code %d):\n%s", code, pipeline.Tail(out, 20))
		} else if endpoints, err = pipeline.HealthEndpoints([]byte(out)); err != nil {
			c.failure = err.Error()
		}
		if wantOutputs || c.failure != "" { // health needs the outputs: their failure counts
			ts.cases = append(ts.cases, c)
		} else {
			skip("outputs readable")
		}
	} else {
		skip("outputs readable")
	}
	switch {
	case !wantHealth:
		skip("health endpoints answer")
	case len(endpoints) == 0:
		ts.cases = append(ts.cases, testCase{name: "health endpoints answer", skipped: "no *_url or *_endpoint output with an http(s) URL"})
	}
	for _, e := range endpoints {
		if !wantHealth {
			break
		}
		// Asked from this process, with retries and a bounded wait for a fresh service.
		start := time.Now()
		_, err := livecheck.Health(ctx, livecheck.ViaEndpoint(e.URL, emulatorAlias, live.endpoint), livecheck.HealthOptions{})
		c := testCase{name: "health endpoint " + e.Output + " answers", elapsed: time.Since(start)}
		if err != nil {
			c.failure = err.Error()
		}
		ts.cases = append(ts.cases, c)
	}

	// Monitoring: alarms are part of the deployment, unless the stack says it has none, and
	// each notifies a topic somebody is subscribed to.
	if !r.profile.RunsPostDeploy(environment.PostDeployMonitoring) {
		skip(livecheck.MonitoringName)
		return ts, nil
	}
	ts.cases = append(ts.cases, live.run(ctx, livecheck.MonitoringName, livecheck.Monitoring))
	return ts, nil
}

// liveState is what the live checks need: the state's resources and the API clients.
type liveState struct {
	endpoint  string // the emulator's, as this process reaches it; "" for AWS
	clients   livecheck.Clients
	resources []livecheck.Resource
	err       string // why the state could not be read: every live check fails with it
}

// liveClients reads the state's resources (terraform show -json, kept out of the log: it
// holds sensitive values) and connects to AWS as this module's process reaches it.
func (r *run) liveClients(ctx context.Context, runCheck func([]string) (int, string, error)) (*liveState, error) {
	ls := &liveState{}
	code, out, err := runCheck([]string{"terraform", "show", "-json", "-no-color"})
	if err != nil {
		return nil, err
	}
	if code != 0 {
		ls.err = fmt.Sprintf("terraform show -json failed (exit code %d):\n%s", code, pipeline.Tail(out, 20))
	} else if ls.resources, err = livecheck.Resources([]byte(out)); err != nil {
		ls.err = err.Error()
	}
	if ls.endpoint, err = r.processAWS(ctx); err != nil {
		return nil, err
	}
	if ls.clients, err = livecheck.Connect(ctx, r.region(), ls.endpoint); err != nil {
		return nil, err
	}
	return ls, nil
}

// run runs one live check as a test case; an API that cannot be asked fails the case.
func (ls *liveState) run(ctx context.Context, name string, check func(context.Context, livecheck.Clients, []livecheck.Resource) (livecheck.Result, error)) testCase {
	start := time.Now()
	res, err := check(ctx, ls.clients, ls.resources)
	if res.Name != "" {
		name = res.Name // it may say what it could not ask about
	}
	c := testCase{name: name, failure: res.Failure, skipped: res.Skipped, elapsed: time.Since(start)}
	switch {
	case ls.err != "":
		c.failure = ls.err
	case err != nil:
		c.failure = err.Error()
	}
	return c
}

// suite is the checks as a JUnit suite for ci/report.
func (t *testSuite) suite() report.Suite {
	name := "post-deploy " + t.env
	if t.project != "" {
		name += " (" + t.project + ")"
	}
	suite := report.Suite{Name: name}
	for _, c := range t.cases {
		tc := report.Case{Name: c.name, Classname: t.env, Time: c.elapsed, Skipped: c.skipped}
		if c.failure != "" {
			tc.Failure = strings.SplitN(c.failure, "\n", 2)[0]
			tc.Output = c.failure
		}
		suite.Cases = append(suite.Cases, tc)
	}
	return suite
}
