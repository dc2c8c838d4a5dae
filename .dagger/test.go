package main

import (
	"context"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/livecheck"
	"github.com/infrapipe/infrapipe/ci/postdeploy"
)

// Test checks a deployed environment and returns junit.xml, summary.md and result.json: the
// deployment converged (a fresh plan has nothing to do); asking the AWS APIs, every bucket,
// table, topic, subscription, queue, role, KMS key and alias, and alarm of the state exists, and
// encryption and public access are as configured; its outputs are readable; every health
// endpoint among the outputs (*_url, *_endpoint with an http(s) value) answers; and
// monitoring works (every alarm exists, has actions and notifies a topic with a confirmed
// subscription; a state without alarms fails).
// pipeline.yaml's post_deploy picks the categories per environment. It fails when a check
// fails, unless --report-on-failure.
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
	// Like pipeline's and drift's, the line leaves out --report-on-failure: on a laptop it
	// fails with the reasons, where CI's verdict step did.
	reproduce := m.envCall("test", env).Flag("project", project).Bool("skip-destructive", skipDestructive)
	r, d, err := m.initializedRun(ctx, env)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	ts, err := r.postDeploy(ctx, d.ctr)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	ts.Project = project
	files, err := ts.Files(r.env, reproduce)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	dir, err := r.reportDir(ctx, files...)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	if err := ts.Err(); err != nil && !reportOnFailure {
		return nil, reproduce.Wrap(err)
	}
	return dir, nil
}

// postDeploy runs ci/postdeploy's checks in an initialized container of the environment.
// Every terraform command runs through execQuiet: terraform output -json holds sensitive
// values in clear text, and the checks' results go to the report, not the log.
func (r *run) postDeploy(ctx context.Context, ctr *dagger.Container) (*postdeploy.Suite, error) {
	e, err := r.workEnv(ctx)
	if err != nil {
		return nil, err
	}
	endpoint, err := r.processAWS(ctx)
	if err != nil {
		return nil, err
	}
	clients, err := livecheck.Connect(ctx, r.region(), endpoint)
	if err != nil {
		return nil, err
	}
	ctr = ctr.WithEnvVariable("CACHEBUSTER", cacheBuster())
	return postdeploy.Run(ctx, postdeploy.Checks{
		Env:     r.env,
		Profile: r.profile,
		Terraform: func(ctx context.Context, args []string) (int, string, string, error) {
			res, err := execQuiet(ctx, ctr, append([]string{"terraform"}, args...))
			return res.code, res.stdout, res.stderr, err
		},
		PlanArgs: e.PlanArgs,
		Clients:  clients,
		Endpoint: endpoint,
		Alias:    emulatorAlias,
		Masked:   r.masked,
	})
}
