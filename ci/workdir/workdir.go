// Package workdir runs the pipeline's Terraform sequences, the ones that run several commands
// in a row and branch on what they read back: plan and judge, apply with the state backup
// first, stored plans, state pull, restore and drift. They run on an initialized Terraform
// working directory that the caller provides: the Dagger module's container, or a host
// directory in this package's tests, with the real Terraform either way.
package workdir

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/infrapipe/infrapipe/ci/commands"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/plan"
	"github.com/infrapipe/infrapipe/ci/planstore"
	"github.com/infrapipe/infrapipe/ci/state"
)

// Dir is an environment's Terraform working directory after `terraform init`. Methods that
// change it return the directory after the change: a container stays immutable, so a
// sequence may go on from an earlier step. A mutable implementation (the tests' host
// directory) returns itself, and what a sequence wrote (imports.tf, plan files) stays for
// the next one, as it would in a checkout.
type Dir[D any] interface {
	// Out is the directory the commands leave their files in (commands' out).
	Out() string
	// Run runs a command in the Terraform directory. A non-zero exit is an error that
	// names step and the environment, worded by pipeline.StepFailed.
	Run(ctx context.Context, step string, args []string) (D, error)
	// Read is a file of Out, as the last command left it.
	Read(ctx context.Context, name string) (string, error)
	// WithFile adds a file to the Terraform directory, e.g. the import blocks.
	WithFile(name, contents string) D
	// WithSecret puts data in a file that is never part of a layer, a cache key or a log
	// (a state, a plan), and returns its path.
	WithSecret(name string, data []byte) (D, string)
}

// Env is what the sequences need of the environment besides its directory.
type Env struct {
	Name    environment.Name
	Profile environment.Profile
	// Stack is the Terraform directory, recorded with a stored plan and checked against it.
	Stack string
	// PlanArgs are every plan's flags: locking, then the variable files, which VarFiles
	// names for the summary (pipeline.VarFiles.Names).
	PlanArgs []string
	VarFiles []string
	// Warnings are what the gate adds to the plan's warnings (pipeline.VarFiles.Warnings).
	Warnings []string
	// Bucket opens the state bucket from the caller's process: backups, stored plans and
	// the versioning check go through it, not through Terraform.
	Bucket func(context.Context) (*s3.Client, error)
	// Masked are the secret variable file's values (pipeline.SecretValues), redacted from
	// plan.txt: Terraform shows a sensitive value in clear where it loses the mark.
	Masked []string
	// Taken asks the account which of a plan's creates name an object that already exists
	// (livecheck.Taken), for the gate; nil asks nothing. When it cannot ask, the plan warns.
	Taken func(ctx context.Context, planJSON []byte) ([]gate.Taken, error)
}

// Judged is a plan made or shown in Dir, read and judged by pipeline.Judge. Dir holds its
// files in Out: tfplan, plan.json, plan.txt. JSON is plan.json as it was read, for what
// else reads the plan (import's outcome, compliance's redaction) without reading it again.
type Judged[D any] struct {
	Dir    D
	Report *pipeline.PlanReport
	JSON   string
	// Stored is the stored plan this is (Stored), nil for a plan of this run.
	Stored *StoredPlan
	// Imports is what the plan imports (PlanWithImports), nil when it imports nothing.
	Imports *Mapping
}

// StoredPlan is a stored plan proven to be the approved one: its reference and what the
// bucket recorded with it.
type StoredPlan struct {
	Ref  planstore.Ref
	Meta planstore.Meta
}

// With is the plan's report with more summary sections after the plan's own (the access
// and encryption changes), e.g. the stored plan's.
func (j Judged[D]) With(sections ...string) *pipeline.PlanReport {
	r := *j.Report
	r.Sections = append(append([]string(nil), j.Report.Sections...), sections...)
	return &r
}

// Plan runs terraform plan with the environment's flags and extra (-target for import),
// and judges the plan.
func Plan[D Dir[D]](ctx context.Context, d D, e Env, forceRecreate bool, extra ...string) (Judged[D], error) {
	step := "terraform plan"
	if len(extra) > 0 {
		step += " " + strings.Join(extra, " ")
	}
	planned, err := d.Run(ctx, step, commands.Plan(d.Out(), append(append([]string(nil), e.PlanArgs...), extra...)...))
	if err != nil {
		return Judged[D]{}, err
	}
	return Judge(ctx, planned, e, forceRecreate)
}

// Show renders the saved plan the caller put at Out/tfplan (a plan directory's) and judges
// it: terraform refuses it at apply if the state changed since.
func Show[D Dir[D]](ctx context.Context, d D, e Env, forceRecreate bool) (Judged[D], error) {
	shown, err := d.Run(ctx, "terraform show (the saved plan)", commands.Show(d.Out()))
	if err != nil {
		return Judged[D]{}, err
	}
	return Judge(ctx, shown, e, forceRecreate)
}

// Judge reads plan.json and plan.txt of Out through pipeline.Judge.
func Judge[D Dir[D]](ctx context.Context, d D, e Env, forceRecreate bool) (Judged[D], error) {
	js, err := read(ctx, d, "plan", "plan.json")
	if err != nil {
		return Judged[D]{}, err
	}
	text, err := read(ctx, d, "plan", "plan.txt")
	if err != nil {
		return Judged[D]{}, err
	}
	opts := gate.Options{ForceRecreate: forceRecreate, Warnings: e.Warnings}
	if e.Taken != nil {
		var err error
		// What could not be asked warns; what was answered still blocks.
		if opts.Taken, err = e.Taken(ctx, []byte(js)); err != nil {
			opts.Warnings = append(slices.Clone(opts.Warnings), fmt.Sprintf("whether the names the plan creates are free in the account was not checked: %v", err))
		}
	}
	rep, err := pipeline.Judge(e.Name, e.Profile, js, text, e.Masked, opts)
	if err != nil {
		return Judged[D]{}, err
	}
	rep.VarFiles = e.VarFiles
	return Judged[D]{Dir: d, Report: rep, JSON: js}, nil
}

// read is one file of Out; step names the step that wrote it, for the error.
func read[D Dir[D]](ctx context.Context, d D, step, name string) (string, error) {
	s, err := d.Read(ctx, name)
	if err != nil {
		return "", fmt.Errorf("read %s from the %s step: %w", name, step, err)
	}
	return s, nil
}

// PulledState is the file of Out that Pull leaves the state in.
const PulledState = "pulled.tfstate"

// Pull is the state exactly as the backend holds it ("" when there is none yet): the
// directory after the pull, which holds it in Out/PulledState, and its contents. Backup,
// restore and a stored plan's staleness check start here.
func Pull[D Dir[D]](ctx context.Context, d D, e Env) (D, string, error) {
	pulled, err := d.Run(ctx, "terraform state pull", commands.Pull(d.Out()+"/"+PulledState))
	if err != nil {
		return pulled, "", err
	}
	data, err := pulled.Read(ctx, PulledState)
	if err != nil {
		return pulled, "", fmt.Errorf("read the pulled state of %s: %w", e.Name, err)
	}
	return pulled, data, nil
}

// Backup is a state backup: the directory holding it in Out/PulledState, what ci/state
// recorded and its key in the bucket. Key is "" when the environment has no state yet.
type Backup[D any] struct {
	Dir    D
	Backup state.Backup
	Key    string
}

// Taken reports whether there was a state to back up.
func (b Backup[D]) Taken() bool { return b.Key != "" }

// SummaryLine is the backup's line of a summary.
func (b Backup[D]) SummaryLine() string { return b.Backup.SummaryLine(b.Key) }

// TakeBackup pulls the state and hands it to ci/state, which checks it and uploads it under
// the backend's backup prefix before anything changes.
func TakeBackup[D Dir[D]](ctx context.Context, d D, e Env, now time.Time) (Backup[D], error) {
	pulled, data, err := Pull(ctx, d, e)
	if err != nil {
		return Backup[D]{}, err
	}
	bucket, err := e.Bucket(ctx)
	if err != nil {
		return Backup[D]{}, err
	}
	b, key, err := state.TakeBackup(ctx, bucket, e.Name, e.Profile.Backend, []byte(data), now)
	if err != nil {
		return Backup[D]{}, err
	}
	return Backup[D]{Dir: pulled, Backup: b, Key: key}, nil
}

// Applied is an applied plan. Dir holds Out/apply.log when Changed; Backup is the state
// before the apply, when the profile asks for one (BackupAsked).
type Applied[D any] struct {
	Plan        Judged[D]
	Dir         D
	Changed     bool // false when the plan had no changes: nothing ran
	BackupAsked bool
	Backup      Backup[D]
	// StoredNote says why the applied stored plan could not be deleted; "" when it was, or
	// when the plan was not a stored one.
	StoredNote string
	// Refreshed are the objects the refresh after the apply (refresh) took into the state;
	// RefreshNote says why it did not run or was not applied, "" when it was.
	Refreshed   []state.DriftChange
	RefreshNote string
}

// RefreshLine is the refresh's line of an apply's summary (state.RefreshLine).
func (a Applied[D]) RefreshLine() string {
	if !a.Changed {
		return ""
	}
	return state.RefreshLine(a.Refreshed, a.RefreshNote)
}

// Report is the apply as ci/pipeline reports it: the plan, whether it ran, the stored plan
// it came from and the state backup. The caller adds what it alone knows: the run record.
func (a Applied[D]) Report() pipeline.Apply {
	rep := pipeline.Apply{Plan: a.Plan.Report, Applied: a.Changed, Backup: a.Backup.SummaryLine(), Refresh: a.RefreshLine()}
	if !a.BackupAsked {
		rep.Backup = state.NotTakenLine
	}
	if s := a.Plan.Stored; s != nil {
		rep.Stored, rep.StoredSHA256, rep.StoredNote = &s.Ref, s.Meta.SHA256, a.StoredNote
	}
	return rep
}

// ApplyLog is the file of Out an apply leaves its output in.
const ApplyLog = "apply.log"

// Apply applies a judged plan the gate let through: where the profile asks for a backup,
// the state bucket's versioning is checked and the state backed up first (nothing is
// changed when either fails), then terraform apply runs exactly that saved plan. A stored
// plan is marked as being applied just before (planstore.MarkApplying) and deleted once
// applied, so that it cannot be applied twice. The state is then refreshed (refresh), so
// that the next drift check compares the objects with what they were right after this
// apply.
func Apply[D Dir[D]](ctx context.Context, e Env, p Judged[D], now time.Time) (Applied[D], error) {
	res, err := apply(ctx, e, p, now)
	if err == nil && p.Stored != nil {
		res.StoredNote = DeleteStored(ctx, e, p.Stored.Ref)
	}
	return res, err
}

// apply is Apply up to the stored plan's deletion.
func apply[D Dir[D]](ctx context.Context, e Env, p Judged[D], now time.Time) (Applied[D], error) {
	res := Applied[D]{Plan: p, Dir: p.Dir}
	if !p.Report.Analysis.Counts.HasChanges() {
		return res, nil
	}
	d := p.Dir
	if res.BackupAsked = e.Profile.BackupState; res.BackupAsked {
		bucket, err := e.Bucket(ctx)
		if err == nil {
			err = state.CheckVersioning(ctx, bucket, e.Name, e.Profile.Backend.Bucket)
		}
		if err != nil {
			return Applied[D]{}, fmt.Errorf("before the %s apply (nothing was changed): %w", e.Name, err)
		}
		if res.Backup, err = TakeBackup(ctx, d, e, now); err != nil {
			return Applied[D]{}, fmt.Errorf("state backup before the %s apply (nothing was changed): %w", e.Name, err)
		}
		if res.Backup.Taken() {
			d = res.Backup.Dir
		}
	}
	if err := markApplying(ctx, e, p.Stored, now); err != nil {
		return Applied[D]{}, fmt.Errorf("before the %s apply (nothing was changed): %w", e.Name, err)
	}
	applied, err := d.Run(ctx, "terraform apply", commands.Apply(d.Out(), d.Out()+"/tfplan", state.LockArgs(e.Profile)...))
	if err != nil {
		if res.Backup.Taken() {
			return Applied[D]{}, fmt.Errorf("%w\nthe state before this apply is backed up at %s: see restore-state", err, res.Backup.Key)
		}
		return Applied[D]{}, err
	}
	res.Dir, res.Changed = applied, true
	res.Dir, res.Refreshed, res.RefreshNote = refresh(ctx, applied, e)
	return res, nil
}

// refresh records in the state what the objects hold right after an apply: what the
// applied resources did to each other (a bucket's versioning set by its own resource, tags
// read back as {}), which the next drift check would otherwise report as changed outside
// Terraform. It makes the refresh-only plan of a drift check (e.PlanArgs: the variables
// files) and applies it only when it removes nothing: an object that reads as gone right
// after its apply (IAM's eventual consistency) must not leave the state. What it took in is
// returned for the summary; a refresh that cannot run or is not applied is a note, the
// apply having succeeded.
func refresh[D Dir[D]](ctx context.Context, d D, e Env) (D, []state.DriftChange, string) {
	ran, drift, err := driftIn(ctx, d, e)
	switch {
	case err != nil:
		return d, nil, err.Error()
	case drift.Status == state.DriftError:
		return d, nil, drift.Error
	case drift.Status != state.DriftFound:
		return d, nil, ""
	}
	for _, c := range drift.Changes {
		if c.Kind == plan.Delete {
			return d, nil, c.Address + " reads as gone right after the apply, so the refresh that would remove it from the state was not applied"
		}
	}
	refreshed, err := ran.Run(ctx, "terraform apply -refresh-only", commands.ApplyRefresh(ran.Out()+"/drift.tfplan", state.LockArgs(e.Profile)...))
	if err != nil {
		return d, nil, err.Error()
	}
	return refreshed, drift.Changes, ""
}

// Restore compares a backup with the state the backend holds now (ci/state) and, when
// confirm, pushes it with terraform state push: Terraform refuses a backup of another
// lineage or an older serial than it allows, and ci/state one whose resources are tagged
// for another environment. The state the push replaces is backed up first (Replaced), so
// that a restore can itself be undone. The backup reaches the directory as a secret.
func Restore[D Dir[D]](ctx context.Context, d D, e Env, backup []byte, confirm bool, now time.Time) (state.Restore, error) {
	pulled, current, err := Pull(ctx, d, e)
	if err != nil {
		return state.Restore{}, err
	}
	restore, err := state.PrepareRestore(e.Name, e.Profile.EnvironmentTagKey, []byte(current), backup)
	if err != nil || !confirm {
		return restore, err
	}
	if restore.Current != nil {
		bucket, err := e.Bucket(ctx)
		if err != nil {
			return restore, err
		}
		if _, restore.Replaced, err = state.TakeBackup(ctx, bucket, e.Name, e.Profile.Backend, []byte(current), now); err != nil {
			return restore, fmt.Errorf("back up the state the restore replaces; nothing was pushed: %w", err)
		}
	}
	withBackup, file := pulled.WithSecret("restore-"+string(e.Name)+".tfstate", restore.State)
	_, err = withBackup.Run(ctx, "terraform state push", append([]string{"terraform"}, state.PushArgs(file)...))
	return restore, err
}

// Drift runs the refresh-only plan (it reads, changes nothing) with every plan's flags and
// reads it with ci/state.
func Drift[D Dir[D]](ctx context.Context, d D, e Env) (state.Drift, error) {
	_, drift, err := driftIn(ctx, d, e)
	return drift, err
}

// driftIn is Drift, with the directory that holds its saved plan (Out/drift.tfplan).
func driftIn[D Dir[D]](ctx context.Context, d D, e Env) (D, state.Drift, error) {
	const step = "drift check"
	ran, err := d.Run(ctx, step, commands.Drift(d.Out(), state.DriftArgs(d.Out()+"/drift.tfplan", e.PlanArgs...)...))
	if err != nil {
		return d, state.Drift{}, err
	}
	files := map[string]string{}
	for _, name := range []string{"drift.log", "drift.exitcode", "drift.json"} {
		if files[name], err = read(ctx, ran, step, name); err != nil {
			return d, state.Drift{}, err
		}
	}
	code, err := strconv.Atoi(strings.TrimSpace(files["drift.exitcode"]))
	if err != nil {
		return d, state.Drift{}, fmt.Errorf("%s (%s): no exit code: %w", step, e.Name, err)
	}
	drift, err := state.ReadDrift(e.Name, code, files["drift.log"], []byte(files["drift.json"]))
	return ran, drift, err
}

// Store keeps a judged plan in the environment's state bucket for a later apply
// (ci/planstore names it and records its hash, environment and commit).
func Store[D Dir[D]](ctx context.Context, e Env, p Judged[D], commit string, now time.Time) (planstore.Ref, planstore.Meta, error) {
	data, err := planBytes(ctx, p.Dir)
	if err != nil {
		return planstore.Ref{}, planstore.Meta{}, err
	}
	bucket, err := e.Bucket(ctx)
	if err != nil {
		return planstore.Ref{}, planstore.Meta{}, err
	}
	return planstore.Store(ctx, bucket, e.Profile.Backend.Bucket, e.Name, e.Stack, data, commit, now)
}

// planBytes reads the saved plan byte for byte. A container's file contents travel as text,
// which a zip would not survive, so it is read as base64 through a file (never a log: a plan
// holds secrets).
func planBytes[D Dir[D]](ctx context.Context, d D) ([]byte, error) {
	const step = "read the saved plan"
	encoded, err := d.Run(ctx, step, commands.Encode(d.Out()))
	if err != nil {
		return nil, err
	}
	text, err := read(ctx, encoded, step, "tfplan.b64")
	if err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", step, err)
	}
	return data, nil
}

// Stored fetches a stored plan and proves it is the approved one before anything is applied
// (ci/planstore): its hash, environment, age and commit, and that the state pulled now is the
// one it was made on. The plan reaches the directory as a secret and goes through the
// safety gate again, judged for this run.
func Stored[D Dir[D]](ctx context.Context, d D, e Env, ref planstore.Ref, want planstore.Want, forceRecreate bool) (Judged[D], error) {
	bucket, err := e.Bucket(ctx)
	if err != nil {
		return Judged[D]{}, err
	}
	pulled, current, err := Pull(ctx, d, e)
	if err != nil {
		return Judged[D]{}, err
	}
	want.Stack = e.Stack
	data, meta, err := planstore.FetchApproved(ctx, bucket, e.Profile.Backend.Bucket, ref, want, []byte(current))
	if err != nil {
		return Judged[D]{}, err
	}
	withPlan, file := pulled.WithSecret("stored-plan-"+ref.Run+".b64", []byte(base64.StdEncoding.EncodeToString(data)))
	shown, err := withPlan.Run(ctx, "terraform show (the stored plan)", commands.ShowEncoded(d.Out(), file))
	if err != nil {
		return Judged[D]{}, err
	}
	j, err := Judge(ctx, shown, e, forceRecreate)
	if err != nil {
		return Judged[D]{}, err
	}
	j.Stored = &StoredPlan{Ref: ref, Meta: meta}
	return j, nil
}

// markApplying records on a stored plan that its apply begins (planstore.MarkApplying);
// nothing for a plan of this run.
func markApplying(ctx context.Context, e Env, s *StoredPlan, now time.Time) error {
	if s == nil {
		return nil
	}
	bucket, err := e.Bucket(ctx)
	if err != nil {
		return err
	}
	return planstore.MarkApplying(ctx, bucket, e.Profile.Backend.Bucket, s.Ref, s.Meta, now)
}

// DeleteStored removes an applied plan so it cannot be applied twice. A failure does not
// fail the apply: it comes back as the summary's note (planstore.DeleteNote).
func DeleteStored(ctx context.Context, e Env, ref planstore.Ref) string {
	bucket, err := e.Bucket(ctx)
	if err == nil {
		err = planstore.Delete(ctx, bucket, e.Profile.Backend.Bucket, ref)
	}
	return planstore.DeleteNote(err)
}
