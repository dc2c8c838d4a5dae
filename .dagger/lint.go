package main

import (
	"context"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sync/errgroup"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/commands"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/pipeline"
)

// Lint checks the Terraform code without touching state: terraform fmt -check -recursive,
// terraform validate (after init without backend) and tflint, in parallel. It returns the
// lint report as Markdown (each tool's result, tflint's findings with file and line), or
// fails with that report when a file is unformatted, validate fails or tflint warns.
//
// +check
func (m *Infra) Lint(ctx context.Context) (string, error) {
	res, err := m.lint(ctx)
	if err != nil {
		return "", err
	}
	summary := res.markdown() + m.call("lint").Markdown()
	if o := res.outcome(pipeline.LintFailAt); o.Verdict == gate.Block {
		return "", fmt.Errorf("lint failed: %s\n\n%s", strings.Join(o.Reasons, "; "), summary)
	}
	return summary, nil
}

// lintResult is what the three linters found, as ci/pipeline reads it.
type lintResult struct{ pipeline.Lint }

// outcome is ci/pipeline's judgement of the lint step, tflint's findings failing at failAt.
func (r lintResult) outcome(failAt findings.Severity) pipeline.Outcome {
	return pipeline.LintOutcome(r.Unformatted, r.Validate, r.Tflint, failAt)
}

// markdown is the lint section of a summary, ci/pipeline's.
func (r lintResult) markdown() string { return pipeline.LintSection(r.Lint) }

// lint runs fmt, validate and tflint in parallel.
func (m *Infra) lint(ctx context.Context) (lintResult, error) {
	var res lintResult
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		res.Unformatted, res.FmtDiff, err = m.fmtCheck(gctx)
		return err
	})
	g.Go(func() (err error) {
		res.Validate, err = m.validate(gctx)
		return err
	})
	g.Go(func() (err error) {
		res.Tflint, err = m.tflint(gctx)
		return err
	})
	if err := g.Wait(); err != nil {
		return lintResult{}, err
	}
	var err error
	res.Tflint, res.Notices, err = m.suppress(ctx, res.Tflint)
	return res, err
}

// fmtCheck lists the files terraform fmt would rewrite, and the diff that would fix them;
// fmt needs no providers.
func (m *Infra) fmtCheck(ctx context.Context) ([]string, string, error) {
	res, err := execAny(ctx, m.onSource(m.TerraformImage), commands.FmtCheck())
	if err != nil {
		return nil, "", fmt.Errorf("terraform fmt: %w", err)
	}
	if res.code == 0 {
		return nil, "", nil
	}
	var files []string
	for _, l := range strings.Split(res.stdout, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			files = append(files, path.Join(m.TerraformDir, l))
		}
	}
	if len(files) == 0 {
		return nil, "", fmt.Errorf("terraform fmt failed (exit code %d):\n%s", res.code, pipeline.Tail(res.stderr, 30))
	}
	return files, res.stderr, nil
}

// validate returns terraform validate's diagnostics (they name file and line), or "" when
// the configuration is valid.
func (m *Infra) validate(ctx context.Context) (string, error) {
	res, err := execAny(ctx, m.terraform(), []string{"terraform", "validate", "-no-color"})
	if err != nil {
		return "", fmt.Errorf("terraform validate: %w", err)
	}
	if res.code == 0 {
		return "", nil
	}
	return pipeline.Tail(res.output(), 80), nil
}

// tflint runs tflint and reads its JSON report through ci/findings.
func (m *Infra) tflint(ctx context.Context) ([]findings.Finding, error) {
	report, err := m.onSource(m.TflintImage).
		WithMountedCache("/tflint-plugins", dag.CacheVolume("infrapipe-tflint-plugins"), dagger.ContainerWithMountedCacheOpts{
			Sharing: dagger.CacheSharingModeLocked,
		}).
		WithEnvVariable("TFLINT_PLUGIN_DIR", "/tflint-plugins").
		WithExec(commands.Tflint("/out")).
		File("/out/tflint.json").
		Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("tflint: %w", err)
	}
	fs, err := findings.ParseTflintJSON("tflint.json", []byte(report))
	if err != nil {
		return nil, err
	}
	return m.relativeToTerraform(fs), nil
}

// relativeToTerraform makes finding paths relative to the Terraform directory, as ci/
// expects, from the container paths the scanners report.
func (m *Infra) relativeToTerraform(fs []findings.Finding) []findings.Finding {
	return findings.RelativeTo(fs, m.tfDir(), srcMount)
}

// sarifOptions place merged SARIF in the repository. Findings without a usable file (policy
// findings on the plan) point at the first Terraform file, which GitHub accepts.
func (m *Infra) sarifOptions(ctx context.Context, tools []string) findings.SARIFOptions {
	o := findings.SARIFOptions{Tools: tools, Root: m.TerraformDir}
	if files, err := m.Source.Directory(m.TerraformDir).Glob(ctx, "*.tf"); err == nil && len(files) > 0 {
		o.Fallback = path.Join(m.TerraformDir, files[0])
	}
	return o
}

// suppress applies <terraform-dir>/suppressions.yaml when the repository has one.
func (m *Infra) suppress(ctx context.Context, fs []findings.Finding) ([]findings.Finding, []string, error) {
	p := path.Join(m.TerraformDir, "suppressions.yaml")
	data, ok, err := m.readFile(ctx)(p)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	if !ok {
		return fs, nil, nil
	}
	s, err := findings.ParseSuppressions(p, data)
	if err != nil {
		return nil, nil, err
	}
	out, notices := s.Apply(fs, now())
	return out, notices, nil
}
