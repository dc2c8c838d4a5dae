package main

import (
	"context"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/commands"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/state"
)

// ForceUnlock releases the state lock a cancelled or killed run left behind, in the same
// container set-up as apply (backend, credentials, emulator), so nobody initialises
// Terraform by hand. It asks Terraform which lock holds the state, and refuses an ID that is
// not that lock's, and a lock younger than 15 minutes unless --force (its run may still be
// going). In prod it shows the lock and releases nothing until --confirm. It returns what it
// released and, after a killed apply, the import line that adopts what that apply created.
//
// +cache="never"
func (m *Infra) ForceUnlock(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
	// ID of the lock to release, from the lock error.
	lockID string,
	// Release a lock younger than 15 minutes: you have checked that no run holds it.
	// +optional
	force bool,
	// Release in prod; without it prod shows the lock and changes nothing.
	// +optional
	confirm bool,
	// Project tag value, for the import line the report gives after a killed apply.
	// +optional
	project string,
) (string, error) {
	reproduce := m.envCall("force-unlock", env).Flag("lock-id", lockID).Bool("force", force).Flag("project", project)
	release := reproduce.Bool("confirm", true)
	reproduce = reproduce.Bool("confirm", confirm)
	if err := state.CheckLockID(lockID); err != nil {
		return "", reproduce.Wrap(err)
	}
	r, d, err := m.initializedRun(ctx, env)
	if err != nil {
		return "", reproduce.Wrap(err)
	}
	held, err := r.currentLock(ctx, d.ctr)
	if err != nil {
		return "", reproduce.Wrap(err)
	}
	req := state.UnlockRequest{
		Env: r.env, LockID: lockID, Force: force, Confirm: confirm, Now: time.Now(),
		ConfirmFirst: state.ConfirmsFirst(r.profile),
	}
	summary, err := state.Unlock(req, held, release.String(), r.importLine(project).String(), func() error {
		_, err := d.Run(ctx, "terraform force-unlock", []string{"terraform", "force-unlock", "-force", lockID})
		return err
	})
	if err != nil {
		return "", reproduce.Wrap(err)
	}
	return summary + reproduce.Markdown(), nil
}

// currentLock asks Terraform which lock holds the state: a plan without refresh that gives
// up at once takes the lock exactly as apply would, for any backend (S3 lockfile or
// DynamoDB); ci/state reads its outcome. nil means nothing holds it. The variables files
// are not checked: a misspelt variable must not keep a user from a held lock.
func (r *run) currentLock(ctx context.Context, ctr *dagger.Container) (*state.LockInfo, error) {
	vars, err := r.varFiles(ctx)
	if err != nil {
		return nil, err
	}
	res, err := execAny(ctx, ctr, commands.LockProbe(vars.Args()...))
	if err != nil {
		return nil, err
	}
	return state.ReadLockProbe(r.env, res.code, res.output())
}

// importLine is the import call that adopts, by their tags, resources a killed apply created
// but never wrote to the state.
func (r *run) importLine(project string) pipeline.Command {
	if project == "" {
		project = "<your Project tag>"
	}
	return r.call("import").Flag("project", project)
}
