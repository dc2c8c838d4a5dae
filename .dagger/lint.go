package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"

	"golang.org/x/sync/errgroup"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/commands"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gitauth"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/stacks"
	"github.com/infrapipe/infrapipe/ci/tfunit"
)

// Lint checks the Terraform code without touching state: terraform fmt -check -recursive,
// terraform validate (after init without backend), the stack's own tests (terraform test,
// when it has .tftest.hcl files; no cloud access, so mock_provider) and tflint, in
// parallel. It returns the lint report as Markdown (each tool's result, tflint's findings
// and failed tests with file and line), or fails with that report when a file is
// unformatted, validate fails, a test fails, tflint warns or tflint could not run.
//
// +check
func (m *Infra) Lint(ctx context.Context) (string, error) {
	reproduce := m.call("lint")
	if err := m.checkTerraformDir(ctx); err != nil {
		return "", reproduce.Wrap(err)
	}
	image, err := m.terraformImage(ctx, func() (map[string][]byte, error) { return m.rootModule(ctx) })
	if err != nil {
		return "", reproduce.Wrap(err)
	}
	git, err := readGitCredentials(ctx, m.GitCredentials)
	if err != nil {
		return "", reproduce.Wrap(err)
	}
	res, err := m.lint(ctx, m.repo(ctx), image, git)
	if err != nil {
		return "", reproduce.Wrap(err)
	}
	return res.Summary(reproduce)
}

// lint runs fmt, validate, terraform test and tflint in parallel, Terraform's in image with
// git's credentials, and applies the repository's suppressions to tflint's findings.
func (m *Infra) lint(ctx context.Context, repo pipeline.Repo, image string, git gitauth.Credentials) (pipeline.Lint, error) {
	// One Terraform container for validate and the tests: its modules are fetched once.
	tf := m.terraform(image, git)
	var res pipeline.Lint
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		fmtRes, err := execAny(gctx, m.onSource(image), commands.FmtCheck())
		if err != nil {
			// Not wrapped: the engine would print its own error instead, without the hint.
			return errors.New("terraform fmt: " + pipeline.WithHint(err.Error()))
		}
		res.Unformatted, res.FmtDiff, res.FmtFailed, err = pipeline.ReadFmt(m.TerraformDir, repo.Nested, fmtRes.code, fmtRes.stdout, fmtRes.stderr)
		return err
	})
	g.Go(func() error {
		validate, err := execAny(gctx, tf, []string{"terraform", "validate", "-no-color"})
		if err != nil {
			// The providers could not be installed (required_version, the lock file): the
			// configuration cannot be validated, and fmt and tflint still stand.
			res.Validate = fmt.Sprintf("terraform could not be set up to validate: %s", pipeline.Redact(err.Error(), pipeline.SecretValues(nil, git.Tokens...)))
			return nil
		}
		res.Validate = pipeline.ReadValidate(validate.code, validate.stdout, validate.stderr)
		return nil
	})
	g.Go(func() (err error) {
		res.Tests, err = m.terraformTest(gctx, tf)
		return err
	})
	// tflint's own failure (a plugin it cannot install) leaves fmt and validate standing.
	g.Go(func() error {
		var err error
		if res.Tflint, err = m.tflint(gctx); err != nil {
			res.TflintFailed = &pipeline.ToolFailure{Tool: pipeline.Tool{Name: "tflint", Image: m.TflintImage, Flag: "tflint-image"}, Err: err}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return pipeline.Lint{}, err
	}
	var err error
	res.Tflint, res.Notices, err = repo.Suppress(repo.Own(res.Tflint), now())
	return res, err
}

// terraformTest runs the stack's own tests (terraform test on its .tftest.hcl files) and
// reads them with ci/tfunit; nil when it has none. Like lint's other tools it runs with no
// cloud access: a test mocks the provider it needs (mock_provider), and the post-deploy
// tests reach the real one.
func (m *Infra) terraformTest(ctx context.Context, tf *dagger.Container) (*tfunit.Result, error) {
	var files []string
	for _, pattern := range tfunit.Patterns {
		found, err := m.Source.Directory(m.TerraformDir).Glob(ctx, pattern)
		if err != nil {
			return nil, fmt.Errorf("look for test files in %s: %w", m.TerraformDir, err)
		}
		files = append(files, found...)
	}
	if len(files) == 0 {
		return nil, nil
	}
	ran, err := execAny(ctx, tf, tfunit.Command())
	if err != nil {
		// The providers' install failed; validate reports it, and fmt and tflint still stand.
		res := tfunit.NotSetUp()
		return &res, nil
	}
	res := tfunit.ReadResult(ran.code, ran.stdout, ran.stderr)
	return &res, nil
}

// tflint runs tflint and reads its JSON report through ci/findings.
func (m *Infra) tflint(ctx context.Context) ([]findings.Finding, error) {
	// Private sharing, as terraform()'s plugin cache: a lock a cancelled call left would hold
	// every later lint.
	report, err := m.onSource(m.TflintImage).
		WithMountedCache("/tflint-plugins", dag.CacheVolume("infrapipe-tflint-plugins"), dagger.ContainerWithMountedCacheOpts{
			Sharing: dagger.CacheSharingModePrivate,
		}).
		WithEnvVariable("TFLINT_PLUGIN_DIR", "/tflint-plugins").
		WithExec(commands.Tflint(outDir, srcMount)).
		File(path.Join(outDir, "tflint.json")).
		Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("tflint: %w", execFailure(err))
	}
	return findings.ParseTflintJSON("tflint.json", []byte(report))
}

// repo is the repository as ci/ reads the scanners' findings: where the Terraform code is,
// where the containers mount it, its files, and the stacks nested below this one, whose
// findings are theirs (stacks.Nested). When those cannot be told (a .tf file below that
// does not parse), nothing is left out, and the tools' own errors say why.
func (m *Infra) repo(ctx context.Context) pipeline.Repo {
	nested, err := stacks.Nested(stackTree{sourceTree{ctx: ctx, src: m.Source}}, m.TerraformDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "warning: %v; findings in stacks below %s are reported here too\n", err, m.TerraformDir)
	}
	return pipeline.Repo{TerraformDir: m.TerraformDir, Mount: srcMount, Read: dirReader(ctx, m.Source), Nested: nested}
}

// sarifOptions place merged SARIF in the repository. Findings without a usable file (policy
// findings on the plan) point at the root module's first configuration file, which GitHub
// accepts (ci/findings falls back to main.tf when it cannot be listed).
func (m *Infra) sarifOptions(ctx context.Context) findings.SARIFOptions {
	o := findings.SARIFOptions{Root: m.TerraformDir}
	if files, err := m.rootFiles(ctx); err == nil && len(files) > 0 {
		o.Fallback = files[0]
	}
	return o
}
