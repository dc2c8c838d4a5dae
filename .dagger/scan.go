package main

import (
	"context"
	"fmt"
	"path"

	"golang.org/x/sync/errgroup"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/commands"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/pipeline"
)

// SecurityScan scans the Terraform code with Checkov and Trivy (config scanning), in
// parallel, and returns a directory with results.sarif (one run per tool, for GitHub code
// scanning), findings.json and summary.md. Findings at or above the severity threshold fail
// the scan: the environment's threshold from pipeline.yaml, or --threshold.
//
// +check
func (m *Infra) SecurityScan(
	ctx context.Context,
	// Environment whose severity threshold applies: preview, test, staging or prod.
	// +default="test"
	env string,
	// Severity at or above which a finding fails the scan (CRITICAL, HIGH, MEDIUM, LOW, INFO);
	// overrides the environment's.
	// +optional
	threshold string,
) (*dagger.Directory, error) {
	reproduce := m.call("security-scan").Flag("env", env).Flag("threshold", threshold)
	_, profile, err := m.profile(ctx, env)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	th, err := pipeline.Threshold(profile, threshold)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	res, err := m.securityScan(ctx, m.repo(ctx))
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	return m.findingsReport(ctx, pipeline.StepSecurityScan, profile, res, th, reproduce, nil)
}

// findingsReport is the directory of a findings function (security-scan, compliance), or
// the error with its summary when the findings block at the threshold. masked are the
// secret variables file's values, which a policy's message may quote from the plan.
func (m *Infra) findingsReport(ctx context.Context, name pipeline.Step, profile environment.Profile, s pipeline.Scan, threshold findings.Severity, reproduce pipeline.Command, masked []string) (*dagger.Directory, error) {
	s.Findings = findings.Redact(s.Findings, masked)
	files, err := pipeline.ScanFiles(name, profile, s, threshold, m.sarifOptions(ctx), reproduce)
	if err != nil {
		return nil, err
	}
	return reportDir(ctx, pipeline.RedactFiles(files, masked)...)
}

// securityScan runs Checkov and Trivy in parallel and applies the repository's suppressions.
// A scanner that cannot run (its image missing, a crash) does not stop the other: it is
// listed as broken, and ci/pipeline judges that by the environment's profile.
func (m *Infra) securityScan(ctx context.Context, repo pipeline.Repo) (pipeline.Scan, error) {
	checkov := pipeline.ToolRun{Tool: pipeline.Tool{Name: "checkov", Image: m.CheckovImage, Flag: "checkov-image"}}
	trivy := pipeline.ToolRun{Tool: pipeline.Tool{Name: "trivy", Image: m.TrivyImage, Flag: "trivy-image"}}
	var g errgroup.Group
	g.Go(func() error {
		checkov.Findings, checkov.Err = m.checkov(ctx)
		return nil
	})
	g.Go(func() error {
		trivy.Findings, trivy.Err = m.trivy(ctx)
		return nil
	})
	_ = g.Wait()
	return pipeline.MergeScan(repo, now(), checkov, trivy)
}

// checkov scans the Terraform directory and reads its SARIF report. --soft-fail leaves the
// verdict to the environment's threshold; a crash still fails the exec.
func (m *Infra) checkov(ctx context.Context) ([]findings.Finding, error) {
	report, err := m.onSource(m.CheckovImage).
		WithDirectory(outDir, dag.Directory()).
		WithExec(commands.Checkov(outDir)).
		File(path.Join(outDir, "results_sarif.sarif")).
		Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("checkov: %w", err)
	}
	return findings.ParseSARIF("checkov results_sarif.sarif", []byte(report))
}

// trivy scans the Terraform directory for misconfigurations. Its JSON report carries
// Trivy's own severities, which SARIF flattens; the check bundle is cached between runs.
func (m *Infra) trivy(ctx context.Context) ([]findings.Finding, error) {
	report, err := m.onSource(m.TrivyImage).
		WithMountedCache("/trivy-cache", dag.CacheVolume("infrapipe-trivy"), dagger.ContainerWithMountedCacheOpts{
			Sharing: dagger.CacheSharingModePrivate,
		}).
		WithDirectory(outDir, dag.Directory()).
		WithExec(commands.Trivy("/trivy-cache", path.Join(outDir, "trivy.json"))).
		File(path.Join(outDir, "trivy.json")).
		Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("trivy: %w", err)
	}
	return findings.ParseTrivyJSON("trivy.json", []byte(report))
}
