package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/kpis"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/runs"
)

// keepRecord writes the pipeline's run record (ci/runs) from its report.
func (p *pipelineRun) keepRecord(ctx context.Context, rep *pipeline.Report) runs.Written {
	return p.r.keepRecord(ctx, rep.Facts(runs.Facts{Kind: runs.KindPipeline, Commit: p.Commit, Ref: p.Ref,
		Trigger: p.Event, Actor: p.Actor, Started: p.started}))
}

// keepRecord writes a run's record to the environment's state bucket, under runs/ beside the
// backups. It never fails the run: a record that cannot be written comes back as a warning,
// which is also logged.
func (r *run) keepRecord(ctx context.Context, f runs.Facts) runs.Written {
	f.Env = r.env
	w := runs.Keep(ctx, r.profile.Backend.Bucket, f, func() (runs.Objects, string, error) {
		prefix, err := r.m.runsPrefix(ctx)
		if err != nil {
			return nil, "", err
		}
		objs, err := r.stateBucket(ctx)
		return objs, prefix, err
	})
	if w.Warning != "" {
		fmt.Fprintf(os.Stderr, "warning: the run record was not written: %s\n", w.Warning)
	}
	return w
}

// runsPrefix is where the stack's records live: runs/<stack>/.
func (m *Infra) runsPrefix(ctx context.Context) (string, error) {
	cfg, err := m.config(ctx)
	if err != nil {
		return "", err
	}
	return runs.Prefix(cfg.Stack), nil
}

// Kpis reads the run records that pipeline, apply, import and drift keep in each
// environment's state bucket and reports the deployment KPIs of the period against
// pipeline.yaml's targets (kpis): success rate, mean time to deploy and to recovery, scan
// and compliance pass rates, critical findings, the cost estimate over time and, with
// --billing, the variance between the estimates and what AWS billed. Returns kpis.md
// (tables and trend charts for a step summary; it says how each KPI is computed) and
// kpis.json.
//
// +cache="never"
func (m *Infra) Kpis(
	ctx context.Context,
	// Environment: preview, test, staging or prod; every environment when empty.
	// +optional
	env string,
	// The period, ending now: days (30d), weeks (2w) or hours (72h).
	// +default="30d"
	since string,
	// Also read what AWS billed each environment (Cost Explorer, grouped by the environment
	// tag; every call is billed by AWS) for the cost variance.
	// +optional
	billing bool,
) (*dagger.Directory, error) {
	reproduce := m.envCall("kpis", env).Flag("since", since).Bool("billing", billing)
	period, err := kpis.ParseSince(since)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	names, err := environment.Select(env)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	prefix, err := m.runsPrefix(ctx)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	to := time.Now().UTC()
	from := to.Add(-period)
	inputs, err := kpis.Gather(ctx, names, m.kpiSource(), prefix, from, to, billing)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	files, err := kpis.Compute(from, to, inputs).Files(reproduce.Markdown())
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	return reportDir(ctx, files...)
}

// kpiSource opens an environment for ci/kpis: its profile, and its state bucket and Cost
// Explorer as this module's own process reaches them.
func (m *Infra) kpiSource() kpis.Opener {
	return func(ctx context.Context, name environment.Name) (kpis.Source, error) {
		r, err := m.newRun(ctx, string(name))
		if err != nil {
			return kpis.Source{}, err
		}
		return kpis.Source{
			Profile: r.profile,
			Objects: func(ctx context.Context) (runs.Objects, error) { return r.stateBucket(ctx) },
			CostExplorer: func(ctx context.Context) (kpis.CostAndUsage, error) {
				endpoint, err := r.processAWS(ctx)
				if err != nil {
					return nil, err
				}
				return kpis.NewCostExplorer(ctx, endpoint)
			},
		}, nil
	}
}
