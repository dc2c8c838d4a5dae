package main

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/commands"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/plan"
	"github.com/infrapipe/infrapipe/ci/runs"
)

// varFileArgs are the variable file flags (pipeline.VarFileArgs): the environment's file when
// the repository has one, then --tf-var-file.
func (r *run) varFileArgs(ctx context.Context) ([]string, error) {
	exists := false
	if r.profile.VarFile != "" {
		p := path.Join(r.m.TerraformDir, r.profile.VarFile)
		ok, err := r.m.Source.Exists(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("look for %s: %w", p, err)
		}
		exists = ok
	}
	return pipeline.VarFileArgs(r.profile.VarFile, exists, r.secretVars()), nil
}

// secretVarFile is where --tf-var-file is mounted: a secret mount, never a layer or a log.
const secretVarFile = "/run/secrets/infrapipe/secret.tfvars"

// secretVars is where container() mounts --tf-var-file, "" when it was not given.
func (r *run) secretVars() string {
	if r.m.TfVarFile == nil {
		return ""
	}
	return secretVarFile
}

// secretVarArgs reads --tf-var-file when it was given.
func (r *run) secretVarArgs() []string { return pipeline.VarFileArgs("", false, r.secretVars()) }

// planned runs terraform plan for the run's environment in an initialized container and
// returns the container holding outDir/{tfplan,plan.json,plan.txt,plan.log}. extra adds plan
// flags (-target for import).
func (r *run) planned(ctx context.Context, ctr *dagger.Container, extra ...string) (*dagger.Container, error) {
	vars, err := r.varFileArgs(ctx)
	if err != nil {
		return nil, err
	}
	args := commands.Plan(outDir, append(append(r.lockArgs(), vars...), extra...)...)
	step := "terraform plan"
	if len(extra) > 0 {
		step += " " + strings.Join(extra, " ")
	}
	return r.exec(ctx, ctr, step, args)
}

// applied applies a saved plan file in an initialized container.
func (r *run) applied(ctx context.Context, ctr *dagger.Container, tfplan *dagger.File) (*dagger.Container, error) {
	const planPath = "/tmp/apply/tfplan"
	return r.exec(ctx, ctr.WithFile(planPath, tfplan), "terraform apply", commands.Apply(outDir, planPath, r.lockArgs()...))
}

// Plan runs terraform plan for one environment (init with that environment's backend, its
// variables file, the profile's lock timeout) and returns a directory with plan.txt,
// summary.md and result.json: the plan analysed by ci/plan and the safety gate's verdict from
// ci/gate. The saved plan (tfplan) and plan.json hold secrets in clear text and are added
// only with --include-plan. It never reuses an earlier run. A plan the gate blocks still
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
	creds, err := m.credentials(ctx)
	if err != nil {
		return nil, err
	}
	reproduce := m.envCall("plan", env, creds).Bool("force-recreate", forceRecreate).
		Bool("include-plan", includePlan).Bool("fail-on-block", failOnBlock).Bool("store-plan", storePlan).Flag("commit", commit)
	r, p, err := m.plannedRun(ctx, env, creds, forceRecreate)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	stored := ""
	if storePlan && p.decision.Verdict != gate.Block {
		if stored, err = r.storeForApply(ctx, p, commit, creds); err != nil {
			return nil, reproduce.Wrap(err)
		}
	}
	if failOnBlock {
		if err := p.planReport().FailOnBlock(reproduce); err != nil {
			return nil, reproduce.Wrap(err)
		}
	}
	return p.report(ctx, reproduce, includePlan, stored)
}

// plannedRun is the start of the functions that judge a plan (plan, compliance, cost): the
// run, and its plan analysed by ci/plan and judged by ci/gate.
func (m *Infra) plannedRun(ctx context.Context, env string, creds awsCredentials, forceRecreate bool) (*run, *planRun, error) {
	r, ctr, err := m.initializedRun(ctx, env, creds)
	if err != nil {
		return nil, nil, err
	}
	if ctr, err = r.planned(ctx, ctr); err != nil {
		return nil, nil, err
	}
	p, err := r.judge(ctx, ctr, forceRecreate)
	if err != nil {
		return nil, nil, err
	}
	return r, p, nil
}

// planRun is a plan of this run: the container holding its files, what ci/plan read from
// it and what ci/gate decided.
type planRun struct {
	profile  environment.Profile
	ctr      *dagger.Container
	text     string
	analysis *plan.Analysis
	decision gate.Decision
	// risky is the summary section of access and encryption changes, "" when none.
	risky string
}

func (p *planRun) jsonFile() *dagger.File { return p.ctr.File(path.Join(outDir, "plan.json")) }
func (p *planRun) planFile() *dagger.File { return p.ctr.File(path.Join(outDir, "tfplan")) }

// judge reads plan.json and plan.txt of a container's outDir through pipeline.Judge.
func (r *run) judge(ctx context.Context, ctr *dagger.Container, forceRecreate bool) (*planRun, error) {
	js, err := readOut(ctx, ctr, "plan", "plan.json")
	if err != nil {
		return nil, err
	}
	text, err := readOut(ctx, ctr, "plan", "plan.txt")
	if err != nil {
		return nil, err
	}
	j, err := pipeline.Judge(r.env, r.profile, js, text, forceRecreate)
	if err != nil {
		return nil, err
	}
	return &planRun{profile: j.Profile, ctr: ctr, text: j.Text, analysis: j.Analysis, decision: j.Decision, risky: j.Sections[0]}, nil
}

// planReport is the plan as ci/pipeline reports it; the access and encryption changes
// follow the plan in the summary.
func (p *planRun) planReport(sections ...string) *pipeline.PlanReport {
	return &pipeline.PlanReport{Analysis: p.analysis, Profile: p.profile, Decision: p.decision, Text: p.text,
		Sections: append([]string{p.risky}, sections...)}
}

// report is the plan's directory: plan.txt, summary.md, result.json (ci/pipeline), and with
// includePlan the secret-bearing tfplan and plan.json. stored is the stored plan's section.
func (p *planRun) report(ctx context.Context, reproduce pipeline.Command, includePlan bool, stored string) (*dagger.Directory, error) {
	files, err := p.planReport(stored).Files(reproduce)
	if err != nil {
		return nil, err
	}
	dir, err := reportDir(ctx, files...)
	if err != nil {
		return nil, err
	}
	if includePlan {
		dir = dir.WithFile("tfplan", p.planFile()).WithFile("plan.json", p.jsonFile())
	}
	return dir, nil
}

// Apply applies one environment: plan (or the saved plan given with --plan), the safety gate,
// a state backup in environments whose profile asks for one (staging and prod), then
// terraform apply of exactly that saved plan, never a fresh one. It returns apply.log,
// summary.md, result.json, plan.txt and backups/<state backup> (the state before the apply,
// also kept in the bucket; like any state it holds secrets in clear text).
//
// +cache="never"
func (m *Infra) Apply(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
	// Allow prod to delete or replace resources that are not of a protected type.
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
	// The commit being deployed; a stored plan made from another commit is refused.
	// +optional
	commit string,
) (_ *dagger.Directory, failure error) {
	started := time.Now()
	creds, err := m.credentials(ctx)
	if err != nil {
		return nil, err
	}
	saved := ""
	if plan != nil {
		saved = "<plan directory>"
	}
	reproduce := m.envCall("apply", env, creds).Bool("force-recreate", forceRecreate).Flag("plan", saved).
		Flag("plan-ref", planRef).Flag("plan-sha256", planSha256).Flag("commit", commit)
	stored, err := parseStoredRef(planRef, planSha256, commit)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	if stored != nil && plan != nil {
		return nil, reproduce.Wrap(fmt.Errorf("give one of --plan (a plan directory) and --plan-ref (a stored plan)"))
	}
	r, err := m.newRun(ctx, env, creds)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	record, recorded := runs.Facts{Kind: runs.KindApply, Commit: commit, Started: started, Reproduce: reproduce.String()}, false
	defer func() {
		if failure != nil && !recorded {
			r.recordOutcome(ctx, record, failure)
		}
	}()
	ctr, err := r.initialized(ctx)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	var p *planRun
	if stored != nil {
		p, err = r.storedPlan(ctx, ctr, stored, forceRecreate)
	} else {
		p, err = r.planFor(ctx, ctr, forceRecreate, plan)
	}
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	record = p.planReport().PlanFacts(record, started, time.Now())
	if err := p.planReport().Blocked("apply; nothing was changed"); err != nil {
		return nil, reproduce.Wrap(err)
	}
	applyStarted := time.Now()
	res, err := r.applyPlan(ctx, p)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	if stored != nil {
		res.stored, res.storedNote = stored, r.deleteStored(ctx, stored)
	}
	record = res.apply().Facts(record, applyStarted, time.Now())
	res.recordNote, recorded = r.recordOutcome(ctx, record, nil).Markdown(), true
	return res.report(ctx, reproduce)
}

// applyResult is an applied plan with its backup and log.
type applyResult struct {
	plan   *planRun
	backup backupResult
	log    *dagger.File // nil when the gate blocked or nothing changed
	// stored is the stored plan applied, if any; storedNote says when it could not be
	// deleted afterwards.
	stored     *storedRef
	storedNote string
	recordNote string // why the run record was not written, if it was not
}

// planFor is the judged plan an apply applies: a fresh plan, or the saved one of a plan
// directory (checked to be this environment's).
func (r *run) planFor(ctx context.Context, ctr *dagger.Container, forceRecreate bool, saved *dagger.Directory) (*planRun, error) {
	var err error
	if saved != nil {
		if err := r.checkSavedPlan(ctx, saved); err != nil {
			return nil, err
		}
		ctr, err = r.exec(ctx, ctr.WithFile(path.Join(outDir, "tfplan"), saved.File("tfplan")), "terraform show (the saved plan)",
			commands.Show(outDir))
	} else {
		ctr, err = r.planned(ctx, ctr)
	}
	if err != nil {
		return nil, err
	}
	return r.judge(ctx, ctr, forceRecreate)
}

// applyPlan applies a judged plan: a state backup first where the profile asks for one
// (nothing is changed when it fails), then terraform apply of exactly that saved plan.
// Nothing runs when the plan has no changes.
func (r *run) applyPlan(ctx context.Context, p *planRun) (*applyResult, error) {
	res := &applyResult{plan: p}
	if !p.analysis.Counts.HasChanges() {
		return res, nil
	}
	var err error
	if r.profile.BackupState {
		if err := r.checkVersioning(ctx); err != nil {
			return nil, fmt.Errorf("before the %s apply (nothing was changed): %w", r.env, err)
		}
		if res.backup, err = r.backup(ctx, p.ctr); err != nil {
			return nil, fmt.Errorf("state backup before the %s apply (nothing was changed): %w", r.env, err)
		}
	}
	applied, err := r.applied(ctx, p.ctr, p.planFile())
	if err != nil {
		if res.backup.file != nil {
			return nil, fmt.Errorf("%w\nthe state before this apply is backed up at %s: see restore-state", err, res.backup.key)
		}
		return nil, err
	}
	res.log = applied.File(path.Join(outDir, "apply.log"))
	return res, nil
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

// apply is the apply as ci/pipeline reports it.
func (a *applyResult) apply() pipeline.Apply {
	res := pipeline.Apply{Plan: a.plan.planReport(), Applied: a.log != nil, StoredNote: a.storedNote,
		Backup: a.backup.markdown(), Record: a.recordNote}
	if a.stored != nil {
		res.Stored, res.StoredSHA256 = &a.stored.ref, a.stored.sha256
	}
	return res
}

// report is the apply's directory: ci/pipeline's report files, apply.log and the state
// backup.
func (a *applyResult) report(ctx context.Context, reproduce pipeline.Command) (*dagger.Directory, error) {
	files, err := a.apply().Files(reproduce)
	if err != nil {
		return nil, err
	}
	dir, err := reportDir(ctx, files...)
	if err != nil {
		return nil, err
	}
	if a.log != nil {
		dir = dir.WithFile("apply.log", a.log)
	}
	if a.backup.file != nil {
		dir = dir.WithFile(path.Join("backups", a.backup.backup.FileName()), a.backup.file)
	}
	return dir, nil
}

// markdown is the apply section of a summary: what was applied and the state backup.
func (a *applyResult) markdown() string { return a.apply().Section() }
