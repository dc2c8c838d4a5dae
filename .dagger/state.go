package main

import (
	"context"
	"fmt"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/state"
	"github.com/infrapipe/infrapipe/ci/workdir"
)

// BackupState pulls the environment's current state, checks it (a valid state with lineage
// and serial), checksums it, uploads it under the backend's backup prefix and returns it as a
// file named <time>-serial-<n>-<sha8>.tfstate. Apply does this by itself in staging and prod.
//
// +cache="never"
func (m *Infra) BackupState(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
) (*dagger.File, error) {
	reproduce := m.envCall("backup-state", env)
	r, d, err := m.initializedRun(ctx, env)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	b, err := workdir.TakeBackup(ctx, d, r.stateEnv(), now())
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	if !b.Taken() {
		return nil, reproduce.Wrap(fmt.Errorf("back up %s: %w", r.env, state.ErrNoState))
	}
	return b.Dir.file(workdir.PulledState).WithName(b.Backup.FileName()), nil
}

// Backups lists the environment's state backups under the backend's backup prefix, newest
// first, one key a line, e.g. backups/terraform/prod/20261127T061700Z-serial-42-1a2b3c4d.tfstate
// (backups/<stack>/<env>/): the keys restore-state --from takes.
//
// +cache="never"
func (m *Infra) Backups(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
) (string, error) {
	reproduce := m.envCall("backups", env)
	r, err := m.newRun(ctx, env)
	if err != nil {
		return "", reproduce.Wrap(err)
	}
	store, err := r.stateBucket(ctx)
	if err != nil {
		return "", reproduce.Wrap(err)
	}
	listing, err := state.BackupListing(ctx, store, r.env, r.profile.Backend)
	return listing, reproduce.Wrap(err)
}

// RestoreState puts a backup back as the environment's state. It compares the backup with the
// current state first (lineage, serial, resources restored or dropped) and refuses a backup
// from another state (foreign lineage). Without --confirm it only returns that comparison
// (Markdown) and changes nothing; with --confirm it pushes the backup and returns the
// comparison and the new serial. Nothing is destroyed: the next plan shows what the restored
// state means.
//
// +cache="never"
func (m *Infra) RestoreState(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
	// Backup to restore: an object key that "backups" lists, or "latest".
	// +optional
	from string,
	// A backup file instead, e.g. the one apply returned.
	// +optional
	fromFile *dagger.File,
	// Push the backup; without it the comparison is shown and nothing changes.
	// +optional
	confirm bool,
) (string, error) {
	// The line reruns the comparison, never the push: pasted later, a --confirm line would
	// push the old backup over whatever the state became since. A show-only run names the
	// --confirm line separately, with the backup it compared ("latest" resolved to its key).
	call := m.envCall("restore-state", env)
	reproduce := call.Flag("from", from)
	if fromFile != nil {
		reproduce = reproduce.Flag("from-file", "<backup file>")
	}
	if err := state.CheckRestoreSource(from, fromFile != nil); err != nil {
		return "", reproduce.Wrap(err)
	}
	restore, err := m.restoreState(ctx, env, from, fromFile, confirm)
	if err != nil {
		return "", reproduce.Wrap(err)
	}
	push := call.Flag("from", restore.From)
	if fromFile != nil {
		push = call.Flag("from-file", "<backup file>")
	}
	return restore.Report(confirm, push.Bool("confirm", true).String()) + reproduce.Markdown(), nil
}

// restoreState compares the backup with the current state (ci/state) and, when confirmed,
// pushes it.
func (m *Infra) restoreState(ctx context.Context, env, from string, fromFile *dagger.File, confirm bool) (state.Restore, error) {
	r, err := m.newRun(ctx, env)
	if err != nil {
		return state.Restore{}, err
	}
	key, backup, err := r.loadBackup(ctx, from, fromFile)
	if err != nil {
		return state.Restore{}, err
	}
	d, err := r.initialized(ctx)
	if err != nil {
		return state.Restore{}, err
	}
	restore, err := workdir.Restore(ctx, d, r.stateEnv(), backup, confirm, now())
	restore.From = key
	return restore, err
}

// loadBackup reads a backup from the bucket (ci/state resolves "latest" to its key and
// checks it against its recorded checksum) or from a file the caller kept, and names it.
func (r *run) loadBackup(ctx context.Context, from string, file *dagger.File) (string, []byte, error) {
	if file != nil {
		data, err := file.Contents(ctx)
		if err != nil {
			return "", nil, fmt.Errorf("read --from-file: %w", err)
		}
		return "--from-file", []byte(data), nil
	}
	store, err := r.stateBucket(ctx)
	if err != nil {
		return "", nil, err
	}
	return state.LoadBackup(ctx, store, r.env, r.profile.Backend, from)
}

// Drift checks whether the real infrastructure still matches the environment's state
// (terraform plan -refresh-only: it reads, changes nothing) and returns drift.md, drift.json
// (what changed, in the form of a plan summary) and result.json (the verdict: pass, warn
// when something drifted, block with --fail-on-drift or when the check could not run).
// It fails on block, unless --report-on-failure: then it returns the directory and
// "verdict --report=<dir>" fails the job after the report was kept. Suitable for a
// scheduled workflow.
//
// +cache="never"
func (m *Infra) Drift(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
	// Block (fail) when something drifted, not only when the check could not run.
	// +optional
	failOnDrift bool,
	// Return the report even when the result blocks (result.json says so); then run
	// "verdict --report=<dir>" to fail the job after keeping the report.
	// +optional
	reportOnFailure bool,
	// Webhook URLs for the channels pipeline.yaml's notify names, one "channel=URL" a line,
	// e.g. env:NOTIFY_WEBHOOKS.
	// +optional
	notifyWebhooks *dagger.Secret,
	// The CI run's URL, for the notification's link.
	// +optional
	runUrl string,
) (*dagger.Directory, error) {
	notifyWebhooks, err := webhooks(ctx, notifyWebhooks)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	reproduce := m.envCall("drift", env).Bool("fail-on-drift", failOnDrift)
	m.announce(reproduce)
	r, err := m.newRun(ctx, env)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	d, err := r.drift(ctx)
	rep := pipeline.NewDriftReport(r.env, d, err, failOnDrift)
	rep.Result.Notifications = r.notify(ctx, notifyWebhooks, rep.Message(runUrl, reproduce))
	written := r.keepRecord(ctx, rep.Facts(started, time.Now(), reproduce).Outcome(nil))
	files, err := rep.Files(written, reproduce)
	if err != nil {
		return nil, err
	}
	dir, err := r.reportDir(ctx, files...)
	if err != nil {
		return nil, err
	}
	if err := rep.Err(written); err != nil && !reportOnFailure {
		return nil, reproduce.Wrap(err)
	}
	return dir, nil
}

// drift runs the refresh-only plan with the plan's flags and reads it (ci/workdir.Drift).
func (r *run) drift(ctx context.Context) (state.Drift, error) {
	d, e, err := r.planning(ctx)
	if err != nil {
		return state.Drift{}, err
	}
	drift, err := workdir.Drift(ctx, d, e)
	return drift, r.lockHelp(err)
}
