package main

import (
	"context"
	"fmt"
	"path"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/planstore"
	"github.com/infrapipe/infrapipe/ci/runs"
	"github.com/infrapipe/infrapipe/ci/workdir"
)

// varFiles are the run's variables files (pipeline.FindVarFiles): those Terraform loads by
// itself, the environment's when the stack has one, and --tf-var-file. r.vars reads them
// once per run and checks them.
func (r *run) varFiles(ctx context.Context) (pipeline.VarFiles, error) {
	mount := ""
	if r.m.TfVarFile != nil {
		mount = secretVarFile
	}
	auto, err := r.m.Source.Directory(r.m.TerraformDir).Glob(ctx, "*.tfvars*")
	if err != nil {
		return pipeline.VarFiles{}, fmt.Errorf("look for variables files in %s: %w", r.m.TerraformDir, err)
	}
	return pipeline.FindVarFiles(dirReader(ctx, r.m.Source), r.m.TerraformDir, r.profile, auto, mount, []byte(r.secretSrc))
}

// checkedVarFiles are varFiles, refused when one sets a variable the stack does not declare.
func (r *run) checkedVarFiles(ctx context.Context) (pipeline.VarFiles, error) {
	v, err := r.varFiles(ctx)
	if err != nil {
		return v, err
	}
	code, err := r.code()
	if err != nil {
		return v, err
	}
	return v, v.Check(code)
}

// secretVarFile is where --tf-var-file is mounted: a secret mount, never a layer or a log.
const secretVarFile = "/run/secrets/infrapipe/secret.tfvars"

// Plan runs terraform plan for one environment (init with that environment's backend, its
// variables file, the profile's lock timeout) and returns a directory with plan.txt,
// summary.md, result.json and outputs.env: the plan analysed by ci/plan and the safety
// gate's verdict from ci/gate. The saved plan (tfplan) and plan.json hold secrets in clear
// text and are added only with --include-plan. It never reuses an earlier run. A plan the gate blocks still
// succeeds (the summary says why; apply and pipeline refuse it) unless --fail-on-block.
//
// +cache="never"
func (m *Infra) Plan(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
	// Judge the plan as an apply with --force-recreate would.
	// +optional
	forceRecreate bool,
	// Add tfplan and plan.json (clear-text secrets) for "apply --plan".
	// +optional
	includePlan bool,
	// Fail the call when the safety gate blocks the plan (a pre-merge check); the error
	// holds the summary.
	// +optional
	failOnBlock bool,
	// Store the saved plan in the state bucket for a later "apply --plan-ref": the summary
	// gives its reference, its SHA-256 and the apply line. A blocked plan is not stored.
	// +optional
	storePlan bool,
	// The commit the plan is made from, recorded with a stored plan; apply refuses the plan
	// for another commit.
	// +optional
	commit string,
) (*dagger.Directory, error) {
	reproduce := m.envCall("plan", env).Bool("force-recreate", forceRecreate).
		Bool("include-plan", includePlan).Bool("fail-on-block", failOnBlock).Bool("store-plan", storePlan).Flag("commit", commit)
	if err := planstore.CheckCommit(commit); err != nil {
		return nil, reproduce.Wrap(err)
	}
	r, p, err := m.plannedRun(ctx, env, forceRecreate)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	stored := ""
	if storePlan {
		var ok bool
		if stored, ok = p.Report.Storable(); ok {
			if stored, err = r.storeForApply(ctx, p, commit, forceRecreate); err != nil {
				return nil, reproduce.Wrap(err)
			}
		}
	}
	if failOnBlock {
		if err := p.Report.FailOnBlock(reproduce); err != nil {
			return nil, reproduce.Wrap(err)
		}
	}
	return planDir(ctx, p, reproduce, includePlan, stored)
}

// plannedRun is the start of the functions that judge a plan (plan, compliance, cost): the
// run, and its plan judged by ci/workdir.
func (m *Infra) plannedRun(ctx context.Context, env string, forceRecreate bool) (*run, judged, error) {
	r, err := m.newRun(ctx, env)
	if err != nil {
		return nil, judged{}, err
	}
	d, e, err := r.planning(ctx)
	if err != nil {
		return nil, judged{}, err
	}
	p, err := workdir.Plan(ctx, d, e, forceRecreate)
	return r, p, err
}

// planDir is the plan's directory: plan.txt, summary.md, result.json, outputs.env
// (ci/pipeline), and with includePlan the secret-bearing tfplan and plan.json. stored is
// the stored plan's section.
func planDir(ctx context.Context, p judged, reproduce pipeline.Command, includePlan bool, stored string) (*dagger.Directory, error) {
	files, err := p.With(stored).Files(reproduce)
	if err != nil {
		return nil, err
	}
	dir, err := p.Dir.r.reportDir(ctx, files...)
	if err != nil {
		return nil, err
	}
	if includePlan {
		dir = dir.WithFile("tfplan", p.Dir.file("tfplan")).WithFile("plan.json", p.Dir.file("plan.json"))
	}
	return dir, nil
}

// Apply applies one environment: plan (or the saved plan given with --plan), the safety gate,
// a state backup in environments whose profile asks for one (staging and prod), then
// terraform apply of exactly that saved plan, never a fresh one. It returns summary.md,
// result.json, outputs.env, plan.txt, apply.log when something changed and, where a backup was taken,
// backups/<state backup> (the state before the apply, also kept in the bucket; like any
// state it holds secrets in clear text).
//
// +cache="never"
func (m *Infra) Apply(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
	// Allow prod to delete or replace resources (a protected type still warns: its data is lost).
	// +optional
	forceRecreate bool,
	// A directory from "plan --include-plan" to apply instead of planning now. Terraform
	// refuses it if the state changed since.
	// +optional
	plan *dagger.Directory,
	// A plan stored by "plan --store-plan", e.g. plans/prod/20261205T054000Z-9f86d081.tfplan:
	// applied only if it is the approved one (--plan-sha256), for this environment and
	// commit, younger than plan_max_age, and made on the current state.
	// +optional
	planRef string,
	// SHA-256 of the stored plan, from the summary the reviewer approved.
	// +optional
	planSha256 string,
	// The commit being deployed; a stored plan made from another commit, or from a commit
	// when this is not given, is refused.
	// +optional
	commit string,
) (_ *dagger.Directory, failure error) {
	started := time.Now()
	saved := ""
	if plan != nil {
		saved = "<plan directory>"
	}
	reproduce := m.envCall("apply", env).Bool("force-recreate", forceRecreate).Flag("plan", saved).
		Flag("plan-ref", planRef).Flag("plan-sha256", planSha256).Flag("commit", commit)
	if err := planstore.CheckCommit(commit); err != nil { // pipeline's is Flags.Settle's
		return nil, reproduce.Wrap(err)
	}
	stored, err := parseStoredRef(planRef, planSha256, commit)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	if err := pipeline.CheckApplyFlags(plan != nil, stored != nil); err != nil {
		return nil, reproduce.Wrap(err)
	}
	r, err := m.newRun(ctx, env)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	record, recorded := runs.Facts{Kind: runs.KindApply, Commit: commit, Started: started, Reproduce: reproduce.String()}, false
	defer func() {
		if failure != nil && !recorded {
			r.keepRecord(ctx, record.Outcome(failure))
		}
	}()
	var p judged
	if stored != nil {
		p, err = r.storedPlan(ctx, stored, forceRecreate)
	} else {
		p, err = r.planFor(ctx, forceRecreate, plan)
	}
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	record = p.Report.PlanFacts(record, started, time.Now())
	if err := p.Report.Blocked("apply; nothing was changed"); err != nil {
		return nil, reproduce.Wrap(err)
	}
	applyStarted := time.Now()
	applied, rep, err := r.apply(ctx, p)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	record = rep.Facts(record, applyStarted, time.Now())
	rep.Record, recorded = r.keepRecord(ctx, record.Outcome(nil)).Markdown(), true
	return applyDir(ctx, applied, rep, reproduce)
}

// apply applies a judged plan with ci/workdir: the state backup first where the profile
// asks for one, and a stored plan deleted once applied. Apply and the pipeline's apply step
// share this.
func (r *run) apply(ctx context.Context, p judged) (workdir.Applied[tfDir], pipeline.Apply, error) {
	// The refresh after the apply reads the variables files; without them it cannot run,
	// which its note says, and the apply goes on.
	e, err := r.workEnv(ctx)
	if err != nil {
		e = r.stateEnv()
	}
	applied, err := workdir.Apply(ctx, e, p, now())
	if err != nil {
		return applied, pipeline.Apply{}, err
	}
	return applied, applied.Report(), nil
}

// applyDir is the apply's directory: ci/pipeline's report files, apply.log and the state
// backup.
func applyDir(ctx context.Context, a workdir.Applied[tfDir], rep pipeline.Apply, reproduce pipeline.Command) (*dagger.Directory, error) {
	files, err := rep.Files(reproduce)
	if err != nil {
		return nil, err
	}
	dir, err := a.Dir.r.reportDir(ctx, files...)
	if err != nil {
		return nil, err
	}
	if a.Changed {
		log, err := a.Dir.Read(ctx, workdir.ApplyLog)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", workdir.ApplyLog, err)
		}
		dir = dir.WithNewFile(workdir.ApplyLog, pipeline.Redact(log, a.Dir.r.masked))
	}
	if a.Backup.Taken() {
		dir = dir.WithFile(path.Join("backups", a.Backup.Backup.FileName()), a.Backup.Dir.file(workdir.PulledState))
	}
	return dir, nil
}

// planFor is the judged plan an apply applies: a fresh plan, or the saved one of a plan
// directory (checked to be this environment's).
func (r *run) planFor(ctx context.Context, forceRecreate bool, saved *dagger.Directory) (judged, error) {
	d, e, err := r.planning(ctx)
	if err != nil {
		return judged{}, err
	}
	if saved == nil {
		return workdir.Plan(ctx, d, e, forceRecreate)
	}
	if err := r.checkSavedPlan(ctx, saved); err != nil {
		return judged{}, err
	}
	d.ctr = d.ctr.WithFile(path.Join(outDir, "tfplan"), saved.File("tfplan"))
	return workdir.Show(ctx, d, e, forceRecreate)
}

// checkSavedPlan refuses a plan directory made for another environment, or without its
// saved plan (pipeline.CheckSavedPlan).
func (r *run) checkSavedPlan(ctx context.Context, saved *dagger.Directory) error {
	result, _, err := dirReader(ctx, saved)(pipeline.ResultFile)
	if err != nil {
		return fmt.Errorf("--plan: read %s: %w", pipeline.ResultFile, err)
	}
	hasPlan, err := saved.Exists(ctx, "tfplan")
	if err != nil {
		return fmt.Errorf("--plan: look for tfplan in the plan directory: %w", err)
	}
	return pipeline.CheckSavedPlan(r.env, result, hasPlan)
}
