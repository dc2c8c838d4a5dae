package importer_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/importer"
	"github.com/infrapipe/infrapipe/ci/internal/discoverytest"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/providertest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/pipeline"
)

var prod = discoverytest.Tags("Project", "shop", "Environment", "prod")

// managedTF is applied first: a topic Terraform already manages, which discovery finds
// and the importer must skip.
const managedTF = `
resource "aws_sns_topic" "managed" {
  name = "shop-prod-managed"
  tags = { Project = "shop", Environment = "prod" }
}
`

// stackTF adds resources that already exist (created with the SDK), one that does not,
// and two configuration resources claiming the same bucket.
const stackTF = managedTF + `
resource "aws_s3_bucket" "assets" {
  bucket = "shop-prod-assets"
  tags   = { Project = "shop", Environment = "prod" }
}

resource "aws_dynamodb_table" "orders" {
  name         = "shop-prod-orders"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
  tags = { Project = "shop", Environment = "prod" }
}

resource "aws_sns_topic" "events" {
  name = "shop-prod-events"
  tags = { Project = "shop", Environment = "prod" }
}

resource "aws_sns_topic" "brand_new" {
  name = "shop-prod-brand-new"
}

resource "aws_s3_bucket" "logs_a" {
  bucket = "shop-prod-logs"
}

resource "aws_s3_bucket" "logs_b" {
  bucket = "shop-prod-logs"
}
`

func config(moto *mototest.Server) discovery.Config {
	return discovery.Config{Project: "shop", Environment: "prod", Endpoint: moto.URL,
		Credentials: discoverytest.Credentials, Timeout: time.Minute}
}

// TestImportWithRealTerraform runs the whole flow: discovery on moto, mapping onto a
// real plan, imports.tf through a real `terraform plan` and apply, then a re-run.
func TestImportWithRealTerraform(t *testing.T) {
	moto := mototest.Start(t)
	w := tftest.New(t, map[string]string{"main.tf": managedTF})
	providertest.Use(t, w, moto)
	w.Init()
	w.Apply()
	seeded := discoverytest.New(moto.URL).Create(t,
		discoverytest.Spec{Type: discovery.S3Bucket, Name: "shop-prod-assets", Tags: prod},
		discoverytest.Spec{Type: discovery.S3Bucket, Name: "shop-prod-logs", Tags: prod},
		discoverytest.Spec{Type: discovery.DynamoDBTable, Name: "shop-prod-orders", Tags: prod},
		discoverytest.Spec{Type: discovery.SNSTopic, Name: "shop-prod-events", Tags: prod},
		discoverytest.Spec{Type: discovery.SQSQueue, Name: "shop-prod-jobs", Tags: prod},
		discoverytest.Spec{Type: discovery.SNSTopic, Name: "shop-test-events", Tags: discoverytest.Tags("Project", "shop", "Environment", "test")},
	)
	topicARN := seeded[3].ARN
	w.Write("main.tf", stackTF)

	ctx := context.Background()
	req := importer.Request{Discovery: config(moto), PlanJSON: w.PlanJSON(), Dir: w.Dir}

	// A dry run maps and reports, and writes nothing.
	dry := req
	dry.DryRun = true
	res, err := importer.Prepare(ctx, dry)
	if err != nil {
		t.Fatal(err)
	}
	if res.File != "" || exists(filepath.Join(w.Dir, importer.FileName)) {
		t.Fatalf("dry run wrote %q", res.File)
	}
	if n := strings.Count(string(res.Blocks), "import {"); n != 3 {
		t.Errorf("dry run shows %d import blocks, want 3:\n%s", n, res.Blocks)
	}
	want := []string{
		"ambiguous  aws_s3_bucket.logs_a,aws_s3_bucket.logs_b",
		"unmapped  ",
		"import aws_dynamodb_table.orders ",
		"import aws_s3_bucket.assets ",
		"import aws_sns_topic.events ",
		"skipped aws_sns_topic.managed ",
	}
	if got := summary(res.Plan); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("dry run entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Stats.Calls < 2 {
		t.Errorf("discovery calls = %d, want at least the tagging page and ListRoles", res.Stats.Calls)
	}

	res, err = importer.Prepare(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := os.ReadFile(res.File)
	if err != nil {
		t.Fatal(err)
	}
	if string(blocks) != string(res.Blocks) {
		t.Errorf("imports.tf differs from Result.Blocks")
	}
	for _, b := range []string{
		"import {\n  to = aws_s3_bucket.assets\n  id = \"shop-prod-assets\"\n}",
		"import {\n  to = aws_dynamodb_table.orders\n  id = \"shop-prod-orders\"\n}",
		"import {\n  to = aws_sns_topic.events\n  id = \"" + topicARN + "\"\n}",
	} {
		if !strings.Contains(string(blocks), b) {
			t.Errorf("imports.tf lacks\n%s\ngot:\n%s", b, blocks)
		}
	}
	if n := strings.Count(string(blocks), "import {"); n != 3 {
		t.Errorf("imports.tf has %d import blocks, want 3", n)
	}

	// The real plan with the generated blocks imports all three, read both from the
	// saved plan and from the machine-readable log.
	log := w.Run("plan", "-json", "-input=false", "-out=tfplan")
	shown := w.Run("show", "-json", "tfplan")
	plan, err := importer.ReadPlan([]byte(shown))
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]struct {
		plan *tfjson.Plan
		log  string
	}{"saved plan": {plan, ""}, "plan -json log": {nil, log}} {
		outcome, err := importer.ReadOutcome(o.plan, []byte(o.log))
		if err != nil {
			t.Fatal(err)
		}
		resolved := res.Plan.Resolve(outcome)
		// A dry run stops here: it would import all three, and says so; imports.tf keeps
		// the blocks it planned.
		dry := importer.NewReport("prod", true, resolved, res.Stats)
		if dry.Counts[importer.Import] != 3 || dry.Counts[importer.Imported] != 0 || !strings.Contains(dry.Markdown(), "3 would import") ||
			strings.Contains(dry.Markdown(), "| imported |") || strings.Count(string(resolved.ImportBlocks()), "import {") != 3 {
			t.Errorf("%s: dry run report:\n%s\nimports.tf:\n%s", name, dry.Markdown(), resolved.ImportBlocks())
		}
		// Applied, the same plan reports them imported, with the same blocks.
		report := importer.NewReport("prod", false, resolved.Applied(), res.Stats)
		if report.Counts[importer.Imported] != 3 || resolved.Err() != nil || strings.Count(string(resolved.Applied().ImportBlocks()), "import {") != 3 {
			t.Errorf("%s: imported %d, want 3; err %v\n%s", name, report.Counts[importer.Imported], resolved.Err(), report.Markdown())
		}
		if o.log != "" && outcome.Counted != 3 {
			t.Errorf("%s: change_summary import count = %d, want 3", name, outcome.Counted)
		}
	}

	// Apply, then run again: everything imported is now skipped and nothing is written.
	// (The apply "creates" both logs buckets: moto accepts creating a bucket it holds, and
	// the configuration's empty tags drop the project tags, so discovery no longer sees it.)
	applyLog := w.Run("apply", "-json", "-input=false", "-auto-approve", "tfplan")
	applied, err := importer.ReadOutcome(plan, []byte(applyLog))
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Plan.Resolve(applied); r.Err() != nil || applied.Counted != 3 {
		t.Errorf("apply: counted %d imports, err %v; want 3 and none", applied.Counted, r.Err())
	}
	if err := os.Remove(res.File); err != nil {
		t.Fatal(err)
	}
	req.PlanJSON = w.PlanJSON()
	again, err := importer.Prepare(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.File != "" || len(again.Plan.Imports()) != 0 {
		t.Errorf("re-run would import %v; want nothing (all managed)", summary(again.Plan))
	}
	skipped := 0
	for _, e := range again.Plan.Entries {
		if e.Status == importer.Skipped {
			skipped++
		}
	}
	if skipped != 4 {
		t.Errorf("re-run skipped %d, want 4 (3 imported + the managed topic): %v", skipped, summary(again.Plan))
	}

	// Force re-imports what is managed: the blocks are written and the addresses listed
	// for `terraform state rm`.
	req.Options.Force = true
	forced, err := importer.Prepare(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(forced.Plan.StateRemovals) != 4 || len(forced.Plan.Imports()) != 4 {
		t.Errorf("force: state removals %v, imports %d; want 4 and 4", forced.Plan.StateRemovals, len(forced.Plan.Imports()))
	}
	for _, addr := range forced.Plan.StateRemovals {
		w.Run("state", "rm", addr)
	}
	log = w.Run(append([]string{"plan", "-json", "-input=false", "-out=tfplan"}, forced.Plan.TargetArgs()...)...)
	outcome, err := importer.ReadOutcome(nil, []byte(log))
	if err != nil {
		t.Fatal(err)
	}
	if r := forced.Plan.Resolve(outcome); r.Err() != nil || outcome.Counted != 4 {
		t.Errorf("forced re-import: counted %d, err %v", outcome.Counted, r.Err())
	}
}

// TestImportFailureIsReported: an import block whose object vanished between discovery
// and plan makes the plan fail; the report names it and the run fails.
func TestImportFailureIsReported(t *testing.T) {
	moto := mototest.Start(t)
	discoverytest.New(moto.URL).Create(t,
		discoverytest.Spec{Type: discovery.S3Bucket, Name: "shop-prod-assets", Tags: prod},
		discoverytest.Spec{Type: discovery.SNSTopic, Name: "shop-prod-events", Tags: prod},
	)
	w := tftest.New(t, map[string]string{"main.tf": `
resource "aws_s3_bucket" "assets" {
  bucket = "shop-prod-assets"
}
resource "aws_sns_topic" "events" {
  name = "shop-prod-events"
}
`})
	providertest.Use(t, w, moto)
	w.Init()
	res, err := importer.Prepare(context.Background(), importer.Request{Discovery: config(moto), PlanJSON: w.PlanJSON(), Dir: w.Dir})
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(discoverytest.Config(moto.URL), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: ptr("shop-prod-assets")}); err != nil {
		t.Fatal(err)
	}
	// The -json log names the address; the plain output (how the Dagger module plans)
	// fails the run with Terraform's message. Either way every row fails with it.
	for _, flag := range []string{"-json", "-no-color"} {
		t.Run(flag, func(t *testing.T) {
			stdout, stderr, err := w.Exec("plan", flag, "-input=false", "-out=tfplan")
			if err == nil {
				t.Fatal("plan importing a deleted bucket succeeded")
			}
			outcome, err := importer.ReadOutcome(nil, []byte(stdout+stderr))
			if err != nil {
				t.Fatal(err)
			}
			resolved := res.Plan.Resolve(outcome)
			err = resolved.Err()
			if err == nil || !strings.Contains(err.Error(), "aws_s3_bucket.assets") {
				t.Fatalf("Err() = %v, want a failure naming aws_s3_bucket.assets", err)
			}
			md := importer.NewReport("prod", false, resolved, res.Stats).Markdown()
			for _, want := range []string{"| failed | `aws_s3_bucket.assets`", "| failed | `aws_sns_topic.events`", "Cannot import non-existent remote object"} {
				if !strings.Contains(md, want) {
					t.Errorf("report lacks %q:\n%s", want, md)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// summary is "status address candidates" per entry, in the plan's order.
func summary(p *importer.Plan) []string {
	var out []string
	for _, e := range p.Entries {
		out = append(out, string(e.Status)+" "+e.Address+" "+strings.Join(e.Candidates, ","))
	}
	return out
}

// TestGenerateConfigWithRealTerraform: a tagged bucket with no configuration is imported
// into a generated address when asked, and Terraform writes its configuration.
func TestGenerateConfigWithRealTerraform(t *testing.T) {
	moto := mototest.Start(t)
	discoverytest.New(moto.URL).Create(t, discoverytest.Spec{Type: discovery.S3Bucket, Name: "shop-prod-orphan", Tags: prod})
	w := tftest.New(t, map[string]string{"main.tf": managedTF})
	providertest.Use(t, w, moto)
	w.Init()
	req := importer.Request{Discovery: config(moto), PlanJSON: w.PlanJSON(), Dir: w.Dir,
		Options: importer.Options{GenerateConfig: true}}
	res, err := importer.Prepare(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Plan.GenerateConfigOut || !strings.Contains(string(res.Blocks), "to = aws_s3_bucket.shop_prod_orphan\n") {
		t.Fatalf("GenerateConfigOut %v, blocks:\n%s", res.Plan.GenerateConfigOut, res.Blocks)
	}
	// The plan the module runs: targeted at the imports, writing their configuration.
	log := w.Run(append([]string{"plan", "-json", "-input=false", "-out=tfplan"}, res.Plan.TargetArgs()...)...)
	outcome, err := importer.ReadOutcome(nil, []byte(log))
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Plan.Resolve(outcome); r.Err() != nil || outcome.Counted != 1 {
		t.Errorf("counted %d imports, err %v; want 1 and none", outcome.Counted, r.Err())
	}
	generated, err := os.ReadFile(filepath.Join(w.Dir, "generated.tf"))
	if err != nil || !strings.Contains(string(generated), `bucket`) {
		t.Errorf("generated.tf: %v\n%s", err, generated)
	}
}

// TestPrepareImportIDs: Request.ImportIDs changes the import IDs before mapping, as the
// Dagger module does with pipeline.ForContainers so that a queue URL names the emulator
// as Terraform's container reaches it; with an empty Dir only Result.Blocks carries them.
func TestPrepareImportIDs(t *testing.T) {
	moto := mototest.Start(t)
	discoverytest.New(moto.URL).Create(t, discoverytest.Spec{Type: discovery.SQSQueue, Name: "shop-prod-jobs", Tags: prod})
	plan, err := json.Marshal(planOf([]create{{"aws_sqs_queue.jobs", map[string]any{"name": "shop-prod-jobs"}}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	const inNetwork = "http://emulator:5000"
	tests := []struct {
		name    string
		ids     func([]discovery.Resource) ([]discovery.Resource, error)
		wantID  string
		wantErr string
	}{
		{name: "as discovered", wantID: moto.URL + "/123456789012/shop-prod-jobs"},
		{
			name: "for the containers",
			ids: func(found []discovery.Resource) ([]discovery.Resource, error) {
				return pipeline.ForContainers(found, inNetwork)
			},
			wantID: inNetwork + "/123456789012/shop-prod-jobs",
		},
		{
			name: "a bad endpoint",
			ids: func(found []discovery.Resource) ([]discovery.Resource, error) {
				return pipeline.ForContainers(found, "emulator")
			},
			wantErr: "import: import ID of arn:aws:sqs:us-east-1:123456789012:shop-prod-jobs: queue URL for",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := importer.Prepare(context.Background(), importer.Request{Discovery: config(moto), PlanJSON: plan, ImportIDs: tt.ids})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := "import {\n  to = aws_sqs_queue.jobs\n  id = \"" + tt.wantID + "\"\n}"
			if !strings.Contains(string(res.Blocks), want) {
				t.Errorf("blocks lack\n%s\ngot:\n%s", want, res.Blocks)
			}
			if res.File != "" || exists(importer.FileName) {
				t.Errorf("Prepare without Dir wrote %q", res.File)
			}
		})
	}
}

// TestOwnImportBlockIsNotAlreadyManaged: a tagged bucket that the configuration imports
// with an import block of its own is in the plan's prior state, though not in the state:
// the report says the configuration imports it, not that it is already managed, and adds
// no block of its own (Terraform refuses two imports to one address).
func TestOwnImportBlockIsNotAlreadyManaged(t *testing.T) {
	moto := mototest.Start(t)
	discoverytest.New(moto.URL).Create(t, discoverytest.Spec{Type: discovery.S3Bucket, Name: "shop-prod-legacy", Tags: prod})
	w := tftest.New(t, map[string]string{"main.tf": `
import {
  to = aws_s3_bucket.legacy
  id = "shop-prod-legacy"
}
resource "aws_s3_bucket" "legacy" {
  bucket = "shop-prod-legacy"
  tags   = { Project = "shop", Environment = "prod" }
}
`})
	providertest.Use(t, w, moto)
	w.Init()
	res, err := importer.Prepare(context.Background(), importer.Request{Discovery: config(moto), PlanJSON: w.PlanJSON(), Dir: w.Dir, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan.Entries) != 1 || len(res.Plan.Imports()) != 0 {
		t.Fatalf("entries %v, imports %d; want the bucket alone, imported by nothing of ours", summary(res.Plan), len(res.Plan.Imports()))
	}
	if e := res.Plan.Entries[0]; e.Status != importer.Skipped || e.Address != "aws_s3_bucket.legacy" || e.Reason != "imported by an import block of the configuration" {
		t.Errorf("entry = %+v", e)
	}
}
