package workdir_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/planstore"
	"github.com/infrapipe/infrapipe/ci/state"
	"github.com/infrapipe/infrapipe/ci/workdir"
)

// TestPlanAndJudge plans real changes in prod and judges them: a create passes, a replace
// is blocked unless forceRecreate, and a failed plan names its flags and the environment.
func TestPlanAndJudge(t *testing.T) {
	f := newBackend(t, environment.Prod)
	d := f.dataDir(t, "", `v = "a"`+"\n")
	ctx := context.Background()

	created, err := workdir.Plan(ctx, d, f.env, false)
	if err != nil {
		t.Fatal(err)
	}
	if v, n := created.Report.Decision.Verdict, created.Report.Analysis.Counts.Create; v != gate.Pass || n != 1 {
		t.Fatalf("create plan: verdict %s, %d creates; want pass, 1\n%s", v, n, created.Report.Decision.Reasons)
	}
	if !strings.Contains(created.Report.Text, "terraform_data.x will be created") {
		t.Errorf("the report's text is not the plan's:\n%s", created.Report.Text)
	}
	if _, err := workdir.Apply(ctx, f.env, created, time.Now()); err != nil {
		t.Fatal(err)
	}

	d.setVars(t, `v = "b"`+"\n")
	tests := []struct {
		name          string
		forceRecreate bool
		extra         []string
		verdict       gate.Verdict
		err           []string // every one in the error; nil for no error
	}{
		{name: "a replace is blocked in prod", verdict: gate.Block},
		{name: "forceRecreate lets the replace through", forceRecreate: true, verdict: gate.Warn},
		{name: "a target narrows the plan", extra: []string{"-target=terraform_data.y"}, verdict: gate.Pass},
		{name: "a failed plan names its flags and the environment", extra: []string{"-target=terraform_data."},
			err: []string{"terraform plan -target=terraform_data. failed in prod (exit code 1)", "Invalid target"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := workdir.Plan(ctx, d, f.env, tt.forceRecreate, tt.extra...)
			if tt.err != nil {
				if err == nil {
					t.Fatalf("no error, want one with %q", tt.err)
				}
				for _, want := range tt.err {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q:\n%v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Report.Decision.Verdict; got != tt.verdict {
				t.Errorf("verdict %s, want %s: %q", got, tt.verdict, p.Report.Decision.Reasons)
			}
			blocked := p.Report.Blocked("apply; nothing was changed")
			if (blocked != nil) != (tt.verdict == gate.Block) {
				t.Errorf("Blocked = %v with verdict %s", blocked, tt.verdict)
			}
			if blocked != nil && !strings.Contains(blocked.Error(), "terraform_data.x") {
				t.Errorf("the block does not name the replaced resource: %v", blocked)
			}
		})
	}
}

// TestApplyWithoutBackup applies where the profile takes no backup (test): the state has
// moved on, no backup is in the bucket, and the report says why there is none, not that
// there is no state.
func TestApplyWithoutBackup(t *testing.T) {
	f := newBackend(t, environment.Test)
	if f.env.Profile.BackupState {
		t.Fatal("test's profile takes a backup: this test needs one that does not")
	}
	d := f.dataDir(t, "", `v = "a"`+"\n")
	for _, v := range []string{"a", "b"} {
		d.setVars(t, `v = "`+v+`"`+"\n")
		a := f.apply(t, d)
		rep := a.Report()
		if !a.Changed || a.Backup.Taken() || len(f.backups(t)) != 0 ||
			!strings.Contains(rep.Section(), "not taken, this environment's profile does not ask for one") {
			t.Errorf("v=%s: changed %v, backups %q, section:\n%s", v, a.Changed, f.backups(t), rep.Section())
		}
	}
}

// TestApply applies real plans with prod's backup: none on an empty state, a refusal
// before anything changes when the bucket is not versioned, then a backup in the bucket
// before the state changes; a plan without changes runs nothing.
func TestApply(t *testing.T) {
	f := newBackend(t, environment.Prod)
	if !f.env.Profile.BackupState {
		t.Fatal("prod's profile takes no backup: this test needs one that does")
	}
	d := f.dataDir(t, "", `v = "a"`+"\n")
	ctx := context.Background()

	t.Run("a first apply on an empty state has nothing to back up", func(t *testing.T) {
		p, err := workdir.Plan(ctx, d, f.env, false)
		if err != nil {
			t.Fatal(err)
		}
		a, err := workdir.Apply(ctx, f.env, p, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !a.Changed || a.Backup.Taken() || len(f.backups(t)) != 0 {
			t.Errorf("changed %v, backup taken %v, backups %q; want an apply and no backup", a.Changed, a.Backup.Taken(), f.backups(t))
		}
		if got := d.stateList(t); !slices.Equal(got, []string{"terraform_data.x"}) {
			t.Errorf("state list after the apply: %q", got)
		}
		if log, err := a.Dir.Read(ctx, workdir.ApplyLog); err != nil || !strings.Contains(log, "Apply complete! Resources: 1 added") {
			t.Errorf("%s: %q (%v)", workdir.ApplyLog, log, err)
		}
	})

	d.setVars(t, `v = "b"`+"\n")
	replace, err := workdir.Plan(ctx, d, f.env, true)
	if err != nil {
		t.Fatal(err)
	}
	before := d.snapshot(t)

	t.Run("a bucket without versioning is refused before anything changes", func(t *testing.T) {
		f.setVersioning(t, "Suspended")
		defer f.setVersioning(t, "Enabled")
		_, err := workdir.Apply(ctx, f.env, replace, time.Now())
		if err == nil || !strings.Contains(err.Error(), "before the prod apply (nothing was changed)") ||
			!strings.Contains(err.Error(), "has versioning Suspended") {
			t.Fatalf("error %v, want the versioning refusal", err)
		}
		if after := d.snapshot(t); after.Serial != before.Serial || after.Lineage != before.Lineage {
			t.Errorf("state moved from serial %d to %d", before.Serial, after.Serial)
		}
		if keys := f.backups(t); len(keys) != 0 {
			t.Errorf("backups taken: %q", keys)
		}
	})

	t.Run("the state is backed up under the backup prefix before the apply", func(t *testing.T) {
		a, err := workdir.Apply(ctx, f.env, replace, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		keys := f.backups(t)
		if !a.Changed || !a.Backup.Taken() || len(keys) != 1 || a.Backup.Key != keys[0] ||
			!strings.HasPrefix(a.Backup.Key, f.backend.BackupPrefix) {
			t.Fatalf("changed %v, backup %q, bucket holds %q; want one backup under %s", a.Changed, a.Backup.Key, keys, f.backend.BackupPrefix)
		}
		b, data, err := state.DownloadBackup(ctx, f.s3, f.env.Name, f.backend.Bucket, a.Backup.Key)
		if err != nil {
			t.Fatal(err)
		}
		if b.Serial != before.Serial || b.Lineage != before.Lineage || b.SHA256 != a.Backup.Backup.SHA256 || !strings.Contains(string(data), `"value": "a"`) {
			t.Errorf("backup %+v of %q; want serial %d of lineage %s, the state before the apply", b, data, before.Serial, before.Lineage)
		}
		if rep := a.Report(); !rep.Applied || !strings.Contains(rep.Backup, a.Backup.Key) || rep.Plan != replace.Report {
			t.Errorf("report %+v: want applied, the judged plan, and a backup line naming %s", rep, a.Backup.Key)
		}
		if after := d.snapshot(t); after.Serial <= before.Serial {
			t.Errorf("state serial %d after the apply, was %d", after.Serial, before.Serial)
		}
	})

	t.Run("a plan without changes runs nothing", func(t *testing.T) {
		p, err := workdir.Plan(ctx, d, f.env, false)
		if err != nil {
			t.Fatal(err)
		}
		serial := d.snapshot(t).Serial
		a, err := workdir.Apply(ctx, f.env, p, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if a.Changed || a.Backup.Taken() || len(f.backups(t)) != 1 || d.snapshot(t).Serial != serial {
			t.Errorf("changed %v, backup %q, backups %q: want nothing run", a.Changed, a.Backup.Key, f.backups(t))
		}
		if rep := a.Report(); rep.Applied || !strings.Contains(rep.Section(), "no state backup was taken") {
			t.Errorf("report %+v: want nothing applied and no backup", rep)
		}
	})

	t.Run("a failed apply names the backup to restore", func(t *testing.T) {
		d.setVars(t, `v = "c"`+"\n")
		p, err := workdir.Plan(ctx, d, f.env, true)
		if err != nil {
			t.Fatal(err)
		}
		// Another run applies first (with its own backup): the saved plan is stale, and
		// Terraform refuses it after this apply's backup.
		f.apply(t, f.dataDir(t, "", "v = \"b\"\nextra = true\n"))
		taken := len(f.backups(t))
		_, err = workdir.Apply(ctx, f.env, p, time.Now())
		keys := f.backups(t)
		if err == nil || len(keys) != taken+1 {
			t.Fatalf("error %v, backups %q; want a failure after a second backup", err, keys)
		}
		for _, want := range []string{"terraform apply failed in prod", "Saved plan is stale", "backed up at " + keys[0] + ": see restore-state"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})
}

// TestStoredPlans stores a judged plan in the bucket and fetches it back as an apply does:
// only with the approved hash, only on the state it was made on, and once applied, deleted.
func TestStoredPlans(t *testing.T) {
	f := newBackend(t, environment.Staging)
	d := f.dataDir(t, "", `v = "a"`+"\n")
	ctx := context.Background()
	f.apply(t, d)
	d.setVars(t, `v = "b"`+"\n")
	p, err := workdir.Plan(ctx, d, f.env, false)
	if err != nil {
		t.Fatal(err)
	}
	ref, meta, err := workdir.Store(ctx, f.env, p, "c0ffee", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if saved, err := p.Dir.Read(ctx, "tfplan"); err != nil || meta.SHA256 != planstore.Sum([]byte(saved)) || ref.Env != f.env.Name {
		t.Fatalf("stored %s with SHA-256 %s; want the saved plan's (%v)", ref, meta.SHA256, err)
	}
	want := planstore.Want{Env: f.env.Name, SHA256: meta.SHA256, Commit: "c0ffee", MaxAge: f.env.Profile.PlanMaxAge, Now: time.Now()}
	// The apply job's own directory: another checkout of the same configuration.
	applier := f.dataDir(t, "", `v = "b"`+"\n")

	tests := []struct {
		name string
		want func(planstore.Want) planstore.Want
		err  string
	}{
		{name: "the approved plan shows and judges the same", want: func(w planstore.Want) planstore.Want { return w }},
		{name: "a wrong SHA-256 is refused", err: "not the approved",
			want: func(w planstore.Want) planstore.Want { w.SHA256 = planstore.Sum([]byte("another plan")); return w }},
		{name: "another commit is refused", err: "not commit",
			want: func(w planstore.Want) planstore.Want { w.Commit = "d34db33f"; return w }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serial := applier.snapshot(t).Serial
			j, err := workdir.Stored(ctx, applier, f.env, ref, tt.want(want), false)
			if applier.snapshot(t).Serial != serial {
				t.Errorf("fetching a stored plan changed the state")
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if j.Report.Text != p.Report.Text || j.Report.Analysis.Counts != p.Report.Analysis.Counts || j.Report.Decision.Verdict != p.Report.Decision.Verdict {
				t.Errorf("the stored plan judges differently:\n%s\n%+v %s\nwant:\n%s\n%+v %s", j.Report.Text, j.Report.Analysis.Counts,
					j.Report.Decision.Verdict, p.Report.Text, p.Report.Analysis.Counts, p.Report.Decision.Verdict)
			}
		})
	}

	t.Run("a plan made before the state changed is refused as stale", func(t *testing.T) {
		f.apply(t, f.dataDir(t, "", "v = \"a\"\nextra = true\n"))
		_, err := workdir.Stored(ctx, applier, f.env, ref, want, false)
		if err == nil || !strings.Contains(err.Error(), "is stale") {
			t.Fatalf("error %v, want a stale plan", err)
		}
	})

	t.Run("a fresh stored plan applies and is deleted", func(t *testing.T) {
		d.setVars(t, "v = \"b\"\nextra = true\n")
		ref, meta, w, j := storeAndFetch(t, f, d, applier)
		a, err := workdir.Apply(ctx, f.env, j, time.Now())
		if err != nil || !a.Changed {
			t.Fatalf("apply the stored plan: changed %v, %v", a.Changed, err)
		}
		if got := applier.terraform(t, "state", "show", "-no-color", "terraform_data.x"); !regexp.MustCompile(`input\s+=\s+"b"`).MatchString(got) {
			t.Errorf("the stored plan was not what got applied:\n%s", got)
		}
		if rep := a.Report(); a.StoredNote != "" || rep.Stored == nil || *rep.Stored != ref || rep.StoredSHA256 != meta.SHA256 {
			t.Fatalf("the apply's report: stored %v %s, note %q; want %s deleted", rep.Stored, rep.StoredSHA256, a.StoredNote, ref)
		}
		if _, err := workdir.Stored(ctx, applier, f.env, ref, w, false); err == nil || !strings.Contains(err.Error(), ref.Key()) {
			t.Errorf("a deleted plan: error %v, want one naming %s", err, ref.Key())
		}
		// S3 deletes are idempotent: a second delete is no failure to report.
		if note := workdir.DeleteStored(ctx, f.env, ref); note != "" {
			t.Errorf("second delete: %s", note)
		}
		unreachable := f.env
		unreachable.Bucket = func(context.Context) (*s3.Client, error) { return nil, errors.New("no credentials") }
		if note := workdir.DeleteStored(ctx, unreachable, ref); !strings.Contains(note, "stays in the bucket (no credentials)") {
			t.Errorf("delete without the bucket: note %q", note)
		}
	})

	t.Run("a stored plan whose apply stopped part-way says it was applied", func(t *testing.T) {
		// x changes, then a provisioner fails: Terraform writes both to the state and stops.
		files := func() map[string]string {
			return map[string]string{
				"main.tf": dataTF + `resource "terraform_data" "fails" {
  depends_on = [terraform_data.x]
  provisioner "local-exec" {
    command = "exit 3"
  }
}
`, f.env.Profile.VarFile: "v = \"c\"\nextra = true\n"}
		}
		applier := f.workdir(t, "", files())
		ref, _, w, j := storeAndFetch(t, f, f.workdir(t, "", files()), applier)
		began := time.Now().UTC().Truncate(time.Second)
		if _, err := workdir.Apply(ctx, f.env, j, began); err == nil || !strings.Contains(err.Error(), "stopped part-way") {
			t.Fatalf("apply with a failing provisioner: %v; want a part-way failure", err)
		}
		if got := inputOf(t, applier); got != "c" {
			t.Fatalf("x is %q after the failed apply; want the change it completed", got)
		}
		_, err = workdir.Stored(ctx, applier, f.env, ref, w, false)
		if err == nil || !strings.Contains(err.Error(), "was applied already: an apply of it began at "+began.Format(time.RFC3339)) {
			t.Fatalf("the spent plan again: %v; want it named applied already", err)
		}
	})
}

// storeAndFetch plans in planner, stores the plan without a commit and fetches it into
// applier, as the two phases of a reviewed deploy do.
func storeAndFetch(t *testing.T, f *backendFixture, planner, applier *hostDir) (planstore.Ref, planstore.Meta, planstore.Want, workdir.Judged[*hostDir]) {
	t.Helper()
	ctx := context.Background()
	p, err := workdir.Plan(ctx, planner, f.env, false)
	if err != nil {
		t.Fatal(err)
	}
	ref, meta, err := workdir.Store(ctx, f.env, p, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w := planstore.Want{Env: f.env.Name, SHA256: meta.SHA256, MaxAge: f.env.Profile.PlanMaxAge, Now: time.Now()}
	j, err := workdir.Stored(ctx, applier, f.env, ref, w, false)
	if err != nil {
		t.Fatal(err)
	}
	return ref, meta, w, j
}

// inputOf is terraform_data.x's input in the state d's backend holds.
func inputOf(t *testing.T, d *hostDir) string {
	t.Helper()
	m := regexp.MustCompile(`input\s+=\s+"([^"]*)"`).FindStringSubmatch(d.terraform(t, "state", "show", "-no-color", "terraform_data.x"))
	if m == nil {
		t.Fatal("terraform_data.x has no input in state")
	}
	return m[1]
}

// TestRestore compares and pushes a backup of an earlier serial, and refuses one of
// another state.
func TestRestore(t *testing.T) {
	f := newBackend(t, environment.Staging)
	d := f.dataDir(t, "", `v = "a"`+"\n")
	ctx := context.Background()
	f.apply(t, d)
	earlier := []byte(d.terraform(t, "state", "pull"))
	old := d.snapshot(t)
	d.setVars(t, `v = "b"`+"\n")
	f.apply(t, d)
	other := f.dataDir(t, "other/staging/terraform.tfstate", `v = "a"`+"\n")
	f.apply(t, other)
	foreign := []byte(other.terraform(t, "state", "pull"))

	tests := []struct {
		name    string
		backup  []byte
		confirm bool
		err     string
		input   string // terraform_data.x's input afterwards
		pushed  bool
	}{
		{name: "compared only, nothing changes", backup: earlier, input: "b"},
		{name: "another lineage is refused", backup: foreign, confirm: true, err: "restore refused: backup lineage", input: "b"},
		{name: "confirmed, the backup is pushed as the next serial", backup: earlier, confirm: true, input: "a", pushed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := d.snapshot(t)
			r, err := workdir.Restore(ctx, d, f.env, tt.backup, tt.confirm, time.Now())
			if tt.err != "" {
				var lineage *state.LineageError
				if !errors.As(err, &lineage) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want a *state.LineageError", err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if r.Current == nil || r.Current.Serial != current.Serial || r.Backup.Serial != old.Serial ||
				r.SerialDelta >= 0 || r.PushSerial != current.Serial+1 {
				t.Errorf("restore %+v: want backup serial %d over current %d, pushed as %d", r, old.Serial, current.Serial, current.Serial+1)
			} else if len(r.Swapped) != 1 || r.Swapped[0].Address != "terraform_data.x" || r.Swapped[0].Backup == r.Swapped[0].Current ||
				!strings.Contains(r.Summary(), "  ~ terraform_data.x: the backup names another object") {
				// v a -> b replaced terraform_data.x (triggers_replace): the backup names the old object.
				t.Errorf("restore of a replaced resource: swapped %+v, summary:\n%s", r.Swapped, r.Summary())
			}
			after := d.snapshot(t)
			if after.Lineage != current.Lineage {
				t.Errorf("lineage %s after the restore, was %s", after.Lineage, current.Lineage)
			}
			switch {
			// Terraform's push writes the state once more than the file it was given: the
			// backend holds PushSerial+1 (restore.go: "Terraform may add one more").
			case tt.pushed && after.Serial != r.PushSerial+1:
				t.Errorf("serial %d after the push of serial %d, want %d", after.Serial, r.PushSerial, r.PushSerial+1)
			case !tt.pushed && after.Serial != current.Serial:
				t.Errorf("serial moved from %d to %d", current.Serial, after.Serial)
			}
			if got := inputOf(t, d); got != tt.input {
				t.Errorf("terraform_data.x input %q, want %q", got, tt.input)
			}
			// A push keeps the state it replaced as a backup, which restores it.
			if !tt.pushed {
				if r.Replaced != "" {
					t.Errorf("a restore that pushed nothing backed up %s", r.Replaced)
				}
				return
			}
			bucket, err := f.env.Bucket(ctx)
			if err != nil {
				t.Fatal(err)
			}
			key, kept, err := state.LoadBackup(ctx, bucket, f.env.Name, f.env.Profile.Backend, r.Replaced)
			if err != nil || key != r.Replaced {
				t.Fatalf("the replaced state's backup %q: %v", r.Replaced, err)
			}
			if s, err := state.ReadState(kept); err != nil || s.Serial != current.Serial || s.Lineage != current.Lineage {
				t.Errorf("the replaced state's backup is serial %d lineage %s (%v), want the state before the push, serial %d", s.Serial, s.Lineage, err, current.Serial)
			}
			if !strings.Contains(r.Report(true, ""), "The state it replaced is kept as `"+r.Replaced+"`") {
				t.Errorf("the report does not name the replaced state's backup:\n%s", r.Report(true, ""))
			}
		})
	}

	t.Run("onto an empty state, the backup becomes the state", func(t *testing.T) {
		empty := f.dataDir(t, "empty/staging/terraform.tfstate", `v = "a"`+"\n")
		r, err := workdir.Restore(ctx, empty, f.env, earlier, true, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		after := empty.snapshot(t)
		// Terraform gives a state pushed onto an empty backend a new lineage, as the
		// restore's summary says; the serial and the resources are the backup's.
		if r.Current != nil || after.Serial != old.Serial || after.Lineage == old.Lineage || inputOf(t, empty) != "a" ||
			!strings.Contains(r.Summary(), "under the new lineage") {
			t.Errorf("restore %+v: state now serial %d lineage %s; want the backup's serial %d under a lineage other than %s",
				r, after.Serial, after.Lineage, old.Serial, old.Lineage)
		}
	})
}

// TestDrift runs the refresh-only plan: no drift on a state just applied, and a held
// lock comes back as the lock's error, not as a drift report. (terraform_data reads
// nothing remote, so it cannot drift: TestImport drifts a real bucket.)
func TestDrift(t *testing.T) {
	f := newBackend(t, environment.Test)
	d := f.dataDir(t, "", `v = "a"`+"\n")
	ctx := context.Background()
	f.apply(t, d)

	t.Run("no drift", func(t *testing.T) {
		got, err := workdir.Drift(ctx, d, f.env)
		if err != nil || got.Status != state.DriftNone {
			t.Fatalf("drift %+v, %v; want none", got, err)
		}
	})

	t.Run("with the plan's variable files", func(t *testing.T) {
		// A stack without its environment's variables file plans (pipeline.FindVarFiles
		// leaves the file out), so drift must take the plan's flags, not the profile's file.
		e := f.env
		e.PlanArgs, e.VarFiles = append(state.LockArgs(e.Profile), "-var-file=other.tfvars"), []string{"other.tfvars"}
		other := f.workdir(t, "other/test/terraform.tfstate", map[string]string{"main.tf": dataTF, "other.tfvars": `v = "b"` + "\n"})
		p, err := workdir.Plan(ctx, other, e, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Report.Result().VarFiles; !slices.Equal(got, e.VarFiles) {
			t.Errorf("the plan's result names variables files %q, want %q", got, e.VarFiles)
		}
		if _, err := workdir.Apply(ctx, e, p, time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := workdir.Drift(ctx, other, e)
		if err != nil || got.Status != state.DriftNone {
			t.Fatalf("drift %+v, %v; want none", got, err)
		}
	})

	t.Run("a held lock", func(t *testing.T) {
		const id = "8a7f3c1e-0000-4000-8000-workdirtest01"
		db := dynamodb.NewFromConfig(aws.Config{Region: f.backend.Region, Credentials: f.s3.Options().Credentials},
			func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(f.moto.URL) })
		lockID := f.backend.Bucket + "/" + f.backend.Key
		info := `{"ID":"` + id + `","Operation":"OperationTypeApply","Info":"","Who":"someone@elsewhere","Version":"1.11.4","Created":"` +
			time.Now().UTC().Format(time.RFC3339Nano) + `","Path":"` + lockID + `"}`
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.backend.DynamoDBTable), Item: map[string]dbtypes.AttributeValue{
			"LockID": &dbtypes.AttributeValueMemberS{Value: lockID}, "Info": &dbtypes.AttributeValueMemberS{Value: info},
		}}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(f.backend.DynamoDBTable),
				Key: map[string]dbtypes.AttributeValue{"LockID": &dbtypes.AttributeValueMemberS{Value: lockID}}}); err != nil {
				t.Error(err)
			}
		}()
		_, err := workdir.Drift(ctx, d, f.env)
		var lock *state.LockError
		if !errors.As(err, &lock) || lock.Lock.ID != id || lock.Lock.Who != "someone@elsewhere" {
			t.Fatalf("error %v, want the lock %s held by someone@elsewhere", err, id)
		}
	})
}

// Judge hands the plan it read to Env.Taken, and the gate blocks on what it names; a lookup
// that cannot ask (no permission, say) leaves the plan a warning, not a failure.
func TestJudgeAsksWhetherNamesAreTaken(t *testing.T) {
	f := newBackend(t, environment.Test)
	d := f.dataDir(t, "", `v = "a"`+"\n")
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		answer  []gate.Taken
		err     error
		verdict gate.Verdict
		reason  string
	}{
		{"a taken name blocks", []gate.Taken{{Address: "terraform_data.x", Type: "aws_sns_topic", Name: "shop", Effect: "it would be taken over"}}, nil,
			gate.Block, `test plan creates terraform_data.x, but aws_sns_topic "shop" already exists in the account`},
		{"no answer warns", nil, errors.New("AccessDenied: sns:ListTopics"), gate.Warn,
			"whether the names the plan creates are free in the account was not checked: AccessDenied: sns:ListTopics"},
		{"nothing taken passes", nil, nil, gate.Pass, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := f.env
			var asked string
			e.Taken = func(_ context.Context, planJSON []byte) ([]gate.Taken, error) {
				asked = string(planJSON)
				return tt.answer, tt.err
			}
			p, err := workdir.Plan(ctx, d, e, false)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(asked, `"address":"terraform_data.x"`) || asked != p.JSON {
				t.Errorf("Taken was not given the plan's JSON: %.200s", asked)
			}
			r := p.Report.Decision
			if r.Verdict != tt.verdict || (tt.reason != "" && (len(r.Reasons) != 1 || !strings.HasPrefix(r.Reasons[0], tt.reason))) {
				t.Errorf("decision %s %q, want %s %q", r.Verdict, r.Reasons, tt.verdict, tt.reason)
			}
		})
	}
}

// versionedTF is a bucket whose versioning its own resource sets: applied, the bucket's
// refreshed attributes differ from what its create recorded, with nothing changed by hand.
const versionedTF = `terraform {
  backend "s3" {}
}
resource "aws_s3_bucket" "logs" {
  bucket = "shop-test-logs"
}
resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}
`

// An apply leaves a state that the next drift check finds matching: Apply refreshes it,
// taking in what the applied resources did to each other. The same stack applied by a bare
// terraform apply drifts, with the real hashicorp/aws provider on moto.
func TestApplyLeavesNoDrift(t *testing.T) {
	if testing.Short() {
		t.Skip("the real AWS provider on two cores")
	}
	f := newBackend(t, environment.Test)
	provider, env := f.realAWS(t)
	files := func() map[string]string {
		return map[string]string{"main.tf": versionedTF, "provider.tf": provider, f.env.Profile.VarFile: ""}
	}
	ctx := context.Background()

	bare := f.workdir(t, "bare/test/terraform.tfstate", files(), env...)
	bare.terraform(t, "apply", "-auto-approve", "-input=false", "-no-color")
	got, err := workdir.Drift(ctx, bare, f.env)
	if err != nil || got.Status != state.DriftFound {
		t.Fatalf("drift after a bare terraform apply: %+v, %v; want the bucket's versioning", got, err)
	}
	t.Logf("after a bare apply: %+v", got.Changes)
	bare.terraform(t, "destroy", "-auto-approve", "-input=false", "-no-color")

	d := f.workdir(t, "", files(), env...)
	a := f.apply(t, d)
	if a.RefreshNote != "" {
		t.Fatalf("the refresh after the apply failed: %s", a.RefreshNote)
	}
	if line := a.Report().Section(); !strings.Contains(line, "The state was refreshed after the apply, taking in what the objects hold now: `aws_s3_bucket.logs` (") {
		t.Errorf("the apply's section does not say what the refresh took in:\n%s", line)
	}
	if got, err := workdir.Drift(ctx, d, f.env); err != nil || got.Status != state.DriftNone {
		t.Errorf("drift right after Apply: %+v, %v; want none", got, err)
	}
}

// vanishingTF makes a bucket, then has Terraform delete it behind its own back (a
// provisioner that runs after the bucket's create, calling moto): the refresh after the
// apply reads the bucket as gone, as a fresh object can read on real AWS (IAM's eventual
// consistency).
func vanishingTF(motoURL string) string {
	return `terraform {
  backend "s3" {}
}
resource "aws_s3_bucket" "gone" {
  bucket = "shop-test-gone"
}
resource "terraform_data" "vanish" {
  triggers_replace = aws_s3_bucket.gone.id
  provisioner "local-exec" {
    command = <<-EOT
      python3 -c "import urllib.request as r; r.urlopen(r.Request('` + motoURL + `/shop-test-gone', method='DELETE'))"
    EOT
  }
}
`
}

// The refresh after an apply is not applied when it would remove an object from the state:
// the object stays managed, and the summary says the state was not refreshed and why.
func TestApplyKeepsWhatReadsAsGone(t *testing.T) {
	if testing.Short() {
		t.Skip("the real AWS provider on two cores")
	}
	f := newBackend(t, environment.Test)
	provider, env := f.realAWS(t)
	d := f.workdir(t, "", map[string]string{"main.tf": vanishingTF(f.moto.URL), "provider.tf": provider, f.env.Profile.VarFile: ""}, env...)
	a := f.apply(t, d)
	if want := "aws_s3_bucket.gone reads as gone right after the apply"; !strings.Contains(a.RefreshNote, want) {
		t.Fatalf("refresh note %q; want it to say %q", a.RefreshNote, want)
	}
	if len(a.Refreshed) != 0 {
		t.Errorf("the refresh took in %+v; want nothing applied", a.Refreshed)
	}
	if got := d.stateList(t); !slices.Contains(got, "aws_s3_bucket.gone") {
		t.Errorf("state after the apply: %v; want aws_s3_bucket.gone kept", got)
	}
	if line := a.Report().Section(); !strings.Contains(line, "The state was not refreshed after the apply") {
		t.Errorf("the apply's section does not say the refresh was not applied:\n%s", line)
	}
}
