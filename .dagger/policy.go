package main

import (
	"context"
	"fmt"
	"path"

	"golang.org/x/sync/errgroup"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/policy"
)

// Compliance plans the environment and evaluates the plan against policies: the built-in
// Rego pack and the repository's own Rego (<terraform-dir>/policies/**/*.rego, except
// *_test.rego) with OPA, and terraform-compliance .feature files when the repository has
// them. It returns results.sarif, findings.json and summary.md, and fails on findings at
// or above the environment's severity threshold.
//
// +cache="never"
func (m *Infra) Compliance(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
) (*dagger.Directory, error) {
	reproduce := m.envCall("compliance", env)
	r, p, err := m.plannedRun(ctx, env, false)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	res, err := r.compliance(ctx, p, m.repo(ctx))
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	return m.findingsReport(ctx, pipeline.StepCompliance, r.profile, res, r.profile.SeverityThreshold, reproduce, r.masked)
}

// compliance evaluates a judged plan's JSON with OPA and, when there are feature files,
// terraform-compliance, in parallel, and redacts the plan's sensitive values from what they
// found.
func (r *run) compliance(ctx context.Context, p judged, repo pipeline.Repo) (pipeline.Scan, error) {
	planJSON := p.Dir.file("plan.json")
	features, err := r.m.featureDir(ctx)
	if err != nil {
		return pipeline.Scan{}, err
	}
	opa := pipeline.ToolRun{Tool: pipeline.Tool{Name: "opa", Image: r.m.OpaImage, Flag: "opa-image"}}
	tfc := pipeline.ToolRun{Tool: pipeline.Tool{Name: "terraform-compliance", Image: r.m.ComplianceImage, Flag: "terraform-compliance-image"}}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		opa.Findings, err = r.opa(gctx, planJSON)
		return err
	})
	// terraform-compliance runs only the repository's own scenarios: when it cannot run, the
	// built-in pack still counts and ci/pipeline judges the missing tool by the profile.
	if features != nil {
		g.Go(func() error {
			tfc.Findings, tfc.Err = r.m.terraformCompliance(gctx, planJSON, features)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return pipeline.Scan{}, err
	}
	runs := []pipeline.ToolRun{opa}
	if features != nil {
		runs = append(runs, tfc)
	}
	return pipeline.MergeCompliance(repo, now(), []byte(p.JSON), runs...)
}

// policiesDir is where a repository keeps its own policies, next to the Terraform code.
func (m *Infra) policiesDir() string { return path.Join(m.TerraformDir, "policies") }

// opa runs `opa eval` in OPA's container on the plan, with the built-in pack (written by
// ci/policy), the environment's settings and the repository's Rego, and reads the result
// with ci/policy.
func (r *run) opa(ctx context.Context, planJSON *dagger.File) ([]findings.Finding, error) {
	pack, config, err := r.policyPack()
	if err != nil {
		return nil, err
	}
	eval := policy.Eval{Pack: "/policy/pack", Config: "/policy/config.json", Input: "/input/plan.json"}
	ctr := dag.Container().
		From(r.m.OpaImage).
		WithDirectory("/policy/pack", pack).
		WithFile("/policy/config.json", config).
		WithFile(eval.Input, planJSON)
	user := r.m.policiesDir()
	ok, err := r.m.Source.Exists(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("look for %s: %w", user, err)
	}
	if ok {
		rego := r.m.Source.Directory(user).Filter(dagger.DirectoryFilterOpts{
			Include: []string{"**/*.rego"},
			Exclude: []string{"**/*_test.rego"},
		})
		ctr = ctr.WithDirectory("/policy/user", rego)
		eval.User, eval.Shown = []string{"/policy/user"}, map[string]string{"/policy/user": user}
	}
	args, err := eval.Args()
	if err != nil {
		return nil, err
	}
	// The image's entrypoint is the opa binary, wherever the image keeps it. A policy that
	// does not compile exits non-zero with the errors on stdout, for eval.Read.
	ran, err := execAny(ctx, ctr, args[1:], dagger.ContainerWithExecOpts{UseEntrypoint: true})
	if err != nil {
		return nil, fmt.Errorf("opa eval: %w", err)
	}
	res, err := eval.Read(ran.code, ran.stdout, ran.stderr)
	if err != nil {
		return nil, err
	}
	return res.Findings, nil
}

// policyPack is ci/policy's built-in pack and the environment's settings, as a directory
// and a file for OPA's container.
func (r *run) policyPack() (*dagger.Directory, *dagger.File, error) {
	files, err := policy.PackFiles()
	if err != nil {
		return nil, nil, err
	}
	pack := dag.Directory()
	for name, data := range files {
		pack = pack.WithNewFile(name, string(data))
	}
	config, err := policy.ConfigJSON(policy.ConfigFor(r.profile))
	if err != nil {
		return nil, nil, err
	}
	return pack, dag.File("config.json", string(config)), nil
}

// featureDir gathers the terraform-compliance .feature files under the policies directory
// into one flat directory (terraform-compliance reads one directory), or nil when there
// are none.
func (m *Infra) featureDir(ctx context.Context) (*dagger.Directory, error) {
	p := m.policiesDir()
	ok, err := m.Source.Exists(ctx, p)
	if err != nil || !ok {
		return nil, err
	}
	src := m.Source.Directory(p)
	files, err := src.Glob(ctx, "**/*.feature")
	if err != nil {
		return nil, fmt.Errorf("look for .feature files in %s: %w", p, err)
	}
	if len(files) == 0 {
		return nil, nil
	}
	dir := dag.Directory()
	for _, f := range files {
		dir = dir.WithFile(policy.FeatureFile(f), src.File(f))
	}
	return dir, nil
}

// terraformCompliance runs the feature files on the plan JSON. It exits 1 when a scenario
// fails; its console output is read by ci/findings either way, and any other exit code is
// the tool failing.
func (m *Infra) terraformCompliance(ctx context.Context, planJSON *dagger.File, features *dagger.Directory) ([]findings.Finding, error) {
	ctr := dag.Container().
		From(m.ComplianceImage).
		WithFile("/input/plan.json", planJSON).
		WithDirectory("/features", features).
		WithEnvVariable("TERM", "dumb")
	res, err := execAny(ctx, ctr, []string{"-p", "/input/plan.json", "-f", "/features", "--no-ansi"},
		dagger.ContainerWithExecOpts{UseEntrypoint: true})
	if err != nil {
		return nil, fmt.Errorf("terraform-compliance: %w", err)
	}
	return pipeline.ReadTerraformCompliance(res.code, res.stdout, res.stderr)
}
