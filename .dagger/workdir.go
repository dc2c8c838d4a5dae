package main

import (
	"context"
	"path"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/livecheck"
	"github.com/infrapipe/infrapipe/ci/state"
	"github.com/infrapipe/infrapipe/ci/workdir"
)

// tfDir is a run's initialized Terraform container as ci/workdir's working directory: the
// sequences that run several commands in a row (plan and judge, apply after the backup,
// stored plans, restore, drift, import) live there, tested on a host directory.
type tfDir struct {
	r   *run
	ctr *dagger.Container
}

// judged is a plan made in a run's container, judged by ci/pipeline.
type judged = workdir.Judged[tfDir]

func (d tfDir) Out() string { return outDir }

func (d tfDir) Run(ctx context.Context, step string, args []string) (tfDir, error) {
	ctr, err := d.r.exec(ctx, d.ctr, step, args)
	return tfDir{r: d.r, ctr: ctr}, err
}

func (d tfDir) Read(ctx context.Context, name string) (string, error) {
	return d.file(name).Contents(ctx)
}

func (d tfDir) WithFile(name, contents string) tfDir {
	return tfDir{r: d.r, ctr: d.ctr.WithNewFile(path.Join(d.r.m.tfDir(), name), contents)}
}

// WithSecret mounts data as a secret: a state or a plan holds secrets in clear text, and a
// secret never shows in the call graph, which traces and logs show.
func (d tfDir) WithSecret(name string, data []byte) (tfDir, string) {
	p := path.Join("/run/secrets/infrapipe", name)
	return tfDir{r: d.r, ctr: d.ctr.WithMountedSecret(p, dag.SetSecret(name, string(data)))}, p
}

// file is a file a command left in outDir.
func (d tfDir) file(name string) *dagger.File { return d.ctr.File(path.Join(outDir, name)) }

// stateEnv is the run's environment as ci/workdir's sequences take it, without the plan
// flags: enough for everything but a plan.
func (r *run) stateEnv() workdir.Env {
	return workdir.Env{Name: r.env, Profile: r.profile, Stack: r.m.TerraformDir, Bucket: r.stateBucket, Masked: r.masked, Taken: r.namesTaken}
}

// namesTaken asks the account, from this module's own process, which of a plan's creates
// name an object that already exists (ci/livecheck.TakenIn), for the gate.
func (r *run) namesTaken(ctx context.Context, planJSON []byte) ([]gate.Taken, error) {
	endpoint, err := r.processAWS(ctx)
	if err != nil {
		return nil, err
	}
	seenAs := ""
	if r.emulator != nil {
		seenAs = r.emulatorURL()
	}
	return livecheck.TakenIn(ctx, r.region(), endpoint, seenAs, planJSON)
}

// planning is the run's initialized container and its environment with every plan's flags:
// where ci/workdir's plan sequences (plan, drift, import) start. Code that tells
// environments apart by workspace is refused first; the state functions (backup, restore,
// force-unlock) still run on it.
func (r *run) planning(ctx context.Context) (tfDir, workdir.Env, error) {
	if err := r.noWorkspace(); err != nil {
		return tfDir{}, workdir.Env{}, err
	}
	// The variables files first: a missing one is the caller's to fix, whatever init says.
	e, err := r.workEnv(ctx)
	if err != nil {
		return tfDir{}, workdir.Env{}, err
	}
	d, err := r.initialized(ctx)
	return d, e, err
}

// workEnv is stateEnv with every plan's flags: locking and the variable files.
func (r *run) workEnv(ctx context.Context) (workdir.Env, error) {
	vars, err := r.vars()
	if err != nil {
		return workdir.Env{}, err
	}
	code, err := r.code()
	if err != nil {
		return workdir.Env{}, err
	}
	e := r.stateEnv()
	e.PlanArgs, e.VarFiles = append(state.LockArgs(r.profile), vars.Args()...), vars.Names()
	e.Warnings = vars.Warnings(r.env, code)
	return e, nil
}
