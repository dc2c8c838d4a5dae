package workdir_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/importer"
	"github.com/infrapipe/infrapipe/ci/internal/discoverytest"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/state"
	"github.com/infrapipe/infrapipe/ci/workdir"
)

// bucketTF manages one bucket that already exists on moto, tagged for discovery.
const bucketTF = `terraform {
  backend "s3" {}
}
resource "aws_s3_bucket" "assets" {
  bucket = "shop-prod-assets"
  tags   = { Project = "shop", Environment = "prod" }
}
`

// TestImport maps a tagged bucket onto the configuration and imports it, with the real
// hashicorp/aws provider on moto and the state in an S3 backend on the same moto: a plan
// that fails imports nothing, a dry run only plans, an import applies, and the imported
// bucket then drifts when its tags change out of band (terraform_data cannot drift). One
// setup for every step: the provider is slow to start on two cores (each plan here loads it
// three times: plan, show -json, show).
func TestImport(t *testing.T) {
	if testing.Short() {
		t.Skip("several minutes of the real AWS provider on two cores")
	}
	f := newBackend(t, environment.Prod)
	provider, env := f.realAWS(t)
	d := f.workdir(t, "", map[string]string{"main.tf": bucketTF, "provider.tf": provider, f.env.Profile.VarFile: ""}, env...)
	ctx := context.Background()
	seeder := discoverytest.New(f.moto.URL)
	seed := func() {
		seeder.Create(t, discoverytest.Spec{Type: discovery.S3Bucket, Name: "shop-prod-assets",
			Tags: discoverytest.Tags("Project", "shop", "Environment", "prod")})
	}
	seed()
	req := importer.Request{Discovery: discovery.Config{Project: "shop", Environment: "prod", Endpoint: f.moto.URL,
		Credentials: discoverytest.Credentials, Timeout: time.Minute}}
	restoreLine := func(key string) string { return "restore-state --from=" + key }
	mapped := func(t *testing.T) *workdir.Mapping {
		t.Helper()
		// Each run starts from the checkout, as the module's container does: without the
		// import blocks an earlier run added (hostDir is mutable).
		if err := os.Remove(filepath.Join(d.dir, importer.FileName)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		m, err := workdir.Map(ctx, d, f.env, req)
		if err != nil {
			t.Fatal(err)
		}
		imports := m.Plan.Imports()
		if len(imports) != 1 || imports[0].Address != "aws_s3_bucket.assets" || imports[0].ID != "shop-prod-assets" {
			t.Fatalf("mapped %+v, want shop-prod-assets into aws_s3_bucket.assets", m.Plan.Entries)
		}
		if _, err := os.Stat(filepath.Join(d.dir, importer.FileName)); err == nil {
			t.Fatalf("Map wrote %s", importer.FileName)
		}
		return m
	}

	t.Run("a bucket gone after mapping fails every row and imports nothing", func(t *testing.T) {
		m := mapped(t)
		if _, err := f.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("shop-prod-assets")}); err != nil {
			t.Fatal(err)
		}
		defer seed()
		_, err := workdir.Import(ctx, d, f.env, m, false, restoreLine, time.Now())
		if err == nil {
			t.Fatal("the import of a deleted bucket did not fail")
		}
		report := m.Report(string(f.env.Name), false)
		if report.Counts[importer.Failed] != 1 || len(report.Counts) != 1 {
			t.Errorf("report counts %v, want every row failed", report.Counts)
		}
		for _, want := range []string{"import into prod", "terraform plan -target=aws_s3_bucket.assets failed in prod", report.Markdown()} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		if got := d.stateList(t); len(got) != 0 {
			t.Errorf("state after a failed import: %q", got)
		}
	})

	t.Run("a dry run plans the import and changes nothing", func(t *testing.T) {
		m := mapped(t)
		res, err := workdir.Import(ctx, d, f.env, m, true, restoreLine, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !res.Planned || !strings.Contains(res.Text, "aws_s3_bucket.assets will be imported") || res.Backups != "" {
			t.Errorf("planned %v, backups %q, text:\n%s", res.Planned, res.Backups, res.Text)
		}
		if n := m.Report(string(f.env.Name), true).Counts[importer.Import]; n != 1 {
			t.Errorf("dry run: %d would import, want 1", n)
		}
		if got := d.stateList(t); len(got) != 0 {
			t.Errorf("state after a dry run: %q", got)
		}
		if step, _ := m.Step(string(f.env.Name), true); step.Verdict != gate.Pass {
			t.Errorf("dry run step: %s %q", step.Verdict, step.Reasons)
		}
	})

	// pipelinePlan is the pipeline's plan step with its import step, as the module runs it.
	pipelinePlan := func(t *testing.T) (*pipeline.Recorder, workdir.Judged[*hostDir], []string) {
		t.Helper()
		if err := os.Remove(filepath.Join(d.dir, importer.FileName)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		rec := pipeline.NewRecorder(f.env.Profile, time.Now())
		p, files, err := workdir.PlanWithImports(ctx, rec, func(context.Context) (*hostDir, workdir.Env, error) { return d, f.env, nil },
			workdir.Imports{Run: true, Request: func(context.Context) (importer.Request, error) { return req, nil }, Env: "prod"}, false)
		if err != nil {
			t.Fatal(err)
		}
		return rec, p, files
	}

	t.Run("the pipeline's plan imports beside the changes and records the import with it", func(t *testing.T) {
		rec, p, files := pipelinePlan(t)
		if p.Report.Analysis.Counts.Import != 1 {
			t.Errorf("the plan imports %d, want the bucket", p.Report.Analysis.Counts.Import)
		}
		steps := rec.Steps()
		if len(steps) != 1 || steps[0].Step != pipeline.StepImport || steps[0].Verdict != gate.Pass || !strings.Contains(steps[0].Markdown, "aws_s3_bucket.assets") {
			t.Errorf("recorded %+v, want the import step, passed, naming the bucket", steps)
		}
		if len(files) == 0 {
			t.Error("no import report files")
		}
		if got := d.stateList(t); len(got) != 0 {
			t.Errorf("state after the plan: %q", got)
		}
	})

	t.Run("an import applies", func(t *testing.T) {
		m := mapped(t)
		res, err := workdir.Import(ctx, d, f.env, m, false, restoreLine, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got := d.stateList(t); !slices.Equal(got, []string{"aws_s3_bucket.assets"}) {
			t.Errorf("state after the import: %q", got)
		}
		if !res.Planned || !strings.Contains(res.Backups, "none needed") {
			t.Errorf("planned %v, backups %q; want the empty state's no-backup line", res.Planned, res.Backups)
		}
		report := m.Report(string(f.env.Name), false)
		if report.Counts[importer.Imported] != 1 || m.Plan.Err() != nil {
			t.Errorf("report counts %v, err %v; want one imported", report.Counts, m.Plan.Err())
		}
		step, files := m.Step(string(f.env.Name), false)
		if step.Verdict != gate.Pass || !strings.Contains(step.Markdown, "imported") || len(files) == 0 {
			t.Errorf("import step: %s %q, %d files\n%s", step.Verdict, step.Reasons, len(files), step.Markdown)
		}
	})

	// --force: what is managed is removed from the state and imported again, after a backup
	// of the state it changes.
	forced := func(t *testing.T) *workdir.Mapping {
		t.Helper()
		if err := os.Remove(filepath.Join(d.dir, importer.FileName)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		force := req
		force.Options.Force = true
		m, err := workdir.Map(ctx, d, f.env, force)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Plan.StateRemovals, []string{"aws_s3_bucket.assets"}) {
			t.Fatalf("state removals %q, want the managed bucket", m.Plan.StateRemovals)
		}
		return m
	}

	t.Run("--force re-imports what is managed, after a state backup", func(t *testing.T) {
		before := len(f.backups(t))
		res, err := workdir.Import(ctx, d, f.env, forced(t), false, restoreLine, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got := d.stateList(t); !slices.Equal(got, []string{"aws_s3_bucket.assets"}) {
			t.Errorf("state after the forced import: %q", got)
		}
		// Two backups: the state before its state rm (the bucket still in it), then, as before
		// every prod apply, the state the import's apply starts from.
		lines := strings.Split(strings.TrimSpace(res.Backups), "\n")
		if n := len(f.backups(t)); n != before+2 || len(lines) != 2 || !strings.Contains(lines[0], "1 resources, kept at `backups/prod/") ||
			!strings.Contains(lines[1], "0 resources, kept at `backups/prod/") {
			t.Errorf("%d backups (%d before), backup lines %q; want the state before the state rm, then before the apply", n, before, res.Backups)
		}
	})

	t.Run("drift", func(t *testing.T) {
		if _, err := f.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("shop-prod-assets"),
			Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("Project"), Value: aws.String("shop")},
				{Key: aws.String("Environment"), Value: aws.String("prod")}, {Key: aws.String("Owner"), Value: aws.String("by-hand")}}}}); err != nil {
			t.Fatal(err)
		}
		got, err := workdir.Drift(ctx, d, f.env)
		if err != nil || got.Status != state.DriftFound || len(got.Changes) != 1 || got.Changes[0].Address != "aws_s3_bucket.assets" {
			t.Fatalf("after a tag changed by hand: drift %+v, %v; want aws_s3_bucket.assets", got, err)
		}
	})
	// Last: it leaves the bucket out of the state.
	t.Run("a --force import that fails after its state rm says how to restore", func(t *testing.T) {
		m := forced(t)
		if _, err := f.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("shop-prod-assets")}); err != nil {
			t.Fatal(err)
		}
		_, err := workdir.Import(ctx, d, f.env, m, false, restoreLine, time.Now())
		if err == nil {
			t.Fatal("the forced import of a deleted bucket did not fail")
		}
		backups := f.backups(t)
		for _, want := range []string{"--force removed aws_s3_bucket.assets from the prod state", "restore-state --from=" + backups[0]} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		if got := d.stateList(t); len(got) != 0 {
			t.Errorf("state after the failed forced import: %q (the state rm is written at once)", got)
		}
	})

	// The state holds an address whose object is gone (a state restored from an older
	// backup, the bucket renamed since): Terraform skips an import block into it, so the
	// import says to use --force, which removes the entry after a backup and imports.
	t.Run("an address the state holds for a gone object is imported into with --force", func(t *testing.T) {
		seed()
		if _, err := workdir.Import(ctx, d, f.env, mapped(t), false, restoreLine, time.Now()); err != nil {
			t.Fatal(err)
		}
		seeder.Create(t, discoverytest.Spec{Type: discovery.S3Bucket, Name: "shop-prod-assets-2",
			Tags: discoverytest.Tags("Project", "shop", "Environment", "prod")})
		d.WithFile("main.tf", strings.Replace(bucketTF, `"shop-prod-assets"`, `"shop-prod-assets-2"`, 1))
		if _, err := f.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("shop-prod-assets")}); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(d.dir, importer.FileName)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		m, err := workdir.Map(ctx, d, f.env, req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = workdir.Import(ctx, d, f.env, m, false, restoreLine, time.Now())
		if err == nil || !strings.Contains(err.Error(), "the state still holds aws_s3_bucket.assets for an object that is gone") ||
			!strings.Contains(err.Error(), "import with --force") {
			t.Fatalf("import into the gone object's address: %v; want the --force advice", err)
		}

		before := len(f.backups(t))
		m = forced(t)
		if _, err := workdir.Import(ctx, d, f.env, m, false, restoreLine, time.Now()); err != nil {
			t.Fatal(err)
		}
		if shown := d.terraform(t, "state", "show", "-no-color", "aws_s3_bucket.assets"); !strings.Contains(shown, `"shop-prod-assets-2"`) {
			t.Errorf("aws_s3_bucket.assets after the forced import:\n%s\nwant shop-prod-assets-2", shown)
		}
		if n := len(f.backups(t)); n <= before {
			t.Errorf("%d backups (%d before): the state rm went without one", n, before)
		}
	})

	// The pipeline imports in its plan, which its apply step applies: the import step's
	// report, made with the plan, says "to import" until the apply succeeded, then
	// "imported", in the same place and time.
	t.Run("the pipeline's apply imports, and the import step then says imported", func(t *testing.T) {
		d.terraform(t, "state", "rm", "aws_s3_bucket.assets")
		rec, p, files := pipelinePlan(t)
		planned := rec.Steps()
		if len(planned) != 1 || !strings.Contains(planned[0].Markdown, "1 to import") || p.Imports == nil {
			t.Fatalf("before the apply, recorded %+v", planned)
		}
		if _, err := workdir.Apply(ctx, f.env, p, time.Now()); err != nil {
			t.Fatal(err)
		}
		after, ok := workdir.ImportsApplied(rec, p, "prod")
		applied := rec.Steps()
		if !ok || len(applied) != 1 || !strings.Contains(applied[0].Markdown, "1 imported") || strings.Contains(applied[0].Markdown, "to import") ||
			!applied[0].Started.Equal(planned[0].Started) || slices.Equal(after, files) {
			t.Errorf("after the apply (ok %v), recorded:\n%s", ok, applied[0].Markdown)
		}
		if got := d.stateList(t); !slices.Equal(got, []string{"aws_s3_bucket.assets"}) {
			t.Errorf("state after the apply: %q", got)
		}
		if _, ok := workdir.ImportsApplied(rec, workdir.Judged[*hostDir]{}, "prod"); ok {
			t.Error("a plan that imports nothing was recorded as imported")
		}
	})
}

// The pipeline's plan goes on when its import step cannot run, which is recorded as such;
// one with nothing to import is recorded before the plan; without the step, none is.
// terraform_data and a moto without tagged resources: no provider to install.
func TestPlanWithImportsRecordsTheImportStep(t *testing.T) {
	f := newBackend(t, environment.Staging)
	d := f.dataDir(t, "", `v = "a"`)
	ctx := context.Background()
	planning := func(context.Context) (*hostDir, workdir.Env, error) { return d, f.env, nil }
	discover := func(context.Context) (importer.Request, error) {
		return importer.Request{Discovery: discovery.Config{Project: "shop", Environment: "staging", Endpoint: f.moto.URL,
			Credentials: discoverytest.Credentials, Timeout: time.Minute}}, nil
	}
	down := func(context.Context) (importer.Request, error) {
		return importer.Request{}, errors.New("the tagging API did not answer")
	}
	for _, tt := range []struct {
		name       string
		planning   func(context.Context) (*hostDir, workdir.Env, error)
		im         workdir.Imports
		err        string // of the plan; "" for none
		importStep string // the import step: "" none, "broken" or "pass"
		files      bool
	}{
		{"no import step", planning, workdir.Imports{}, "", "", false},
		{"discovery cannot run", planning, workdir.Imports{Run: true, Request: down, Env: "staging"}, "", "broken", false},
		{"nothing to import", planning, workdir.Imports{Run: true, Request: discover, Env: "staging"}, "", "pass", true},
		{"init fails", func(context.Context) (*hostDir, workdir.Env, error) {
			return nil, workdir.Env{}, errors.New("terraform init (staging): no backend")
		}, workdir.Imports{Run: true, Request: discover, Env: "staging"}, "no backend", "broken", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := pipeline.NewRecorder(f.env.Profile, time.Now())
			p, files, err := workdir.PlanWithImports(ctx, rec, tt.planning, tt.im, false)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
			} else if err != nil || p.Report.Analysis.Counts.Create != 1 {
				t.Fatalf("plan = %+v, %v; want the terraform_data created", p.Report, err)
			}
			got := ""
			for _, s := range rec.Steps() {
				switch {
				case s.Step != pipeline.StepImport:
					t.Errorf("recorded step %s", s.Step)
				case s.CouldNotRun:
					got = "broken"
				default:
					got = string(s.Verdict)
				}
			}
			if got != tt.importStep || (len(files) > 0) != tt.files {
				t.Errorf("import step %q with files %v, want %q with files %v", got, len(files) > 0, tt.importStep, tt.files)
			}
		})
	}
}
