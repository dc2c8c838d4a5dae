package state

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/providertest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/plan"
)

// driftStack is two buckets of the moto-backed test provider "aws" (ci/internal/providertest),
// in a stack whose state lives in the S3 backend on the same moto.
const driftStack = `
resource "aws_s3_bucket" "logs" {
  bucket = "shop-logs"
  tags = {
    Project     = "shop"
    Environment = "prod"
  }
}
resource "aws_s3_bucket" "assets" {
  bucket = "shop-assets"
}
resource "aws_dynamodb_table" "orders" {
  name         = "shop-orders"
  hash_key     = "order_id"
  billing_mode = "PAY_PER_REQUEST"
  attribute {
    name = "order_id"
    type = "S"
  }
  tags = {
    Project = "shop"
  }
}
variable "hold" {
  type    = number
  default = 0
}
# Replaced with -var=hold=N, it holds the state lock for N seconds.
resource "terraform_data" "hold" {
  triggers_replace = var.hold
  provisioner "local-exec" {
    command = "sleep ${var.hold}"
  }
}
output "logs_bucket" {
  value = aws_s3_bucket.logs.bucket
}
`

// checkDrift runs the pipeline's refresh-only plan and reads it as the pipeline does.
func checkDrift(t *testing.T, w *tftest.Workspace, env environment.Name, profile environment.Profile) Drift {
	t.Helper()
	stdout, stderr, err := w.Exec(DriftArgs("drift.tfplan", LockArgs(profile)...)...)
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run refresh-only plan: %v", err)
	}
	var planJSON []byte
	if code != 1 {
		planJSON = []byte(w.Run("show", "-json", "drift.tfplan"))
	}
	d, err := ReadDrift(env, code, stdout+stderr, planJSON)
	if err != nil {
		t.Fatalf("ReadDrift (exit %d): %v\n%s%s", code, err, stdout, stderr)
	}
	return d
}

func TestDriftReport(t *testing.T) {
	sb := newStateBucket(t, environment.Prod)
	w := sb.workspace(t, driftStack, func(w *tftest.Workspace) { providertest.Use(t, w, sb.moto) })
	profile := environment.Profile{Name: environment.Prod, LockTimeout: 0}

	// Before the first apply Terraform finds no drift (exit 0): nothing was compared.
	if d := checkDrift(t, w, environment.Prod, profile); d.Status != DriftNoState ||
		!strings.Contains(d.Markdown(), "nothing to compare: the state of prod holds no resources") {
		t.Fatalf("never applied: want %q, got %+v\n%s", DriftNoState, d, d.Markdown())
	}
	w.Apply()

	if d := checkDrift(t, w, environment.Prod, profile); d.Status != DriftNone || len(d.Changes) != 0 {
		t.Fatalf("fresh apply: want no drift, got %+v", d)
	}

	// Out of band: someone retags one bucket and the table, and deletes the other bucket.
	ctx := context.Background()
	if _, err := sb.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{
		Bucket: aws.String("shop-logs"),
		Tagging: &types.Tagging{TagSet: []types.Tag{
			{Key: aws.String("Project"), Value: aws.String("shop")},
			{Key: aws.String("Environment"), Value: aws.String("prod")},
			{Key: aws.String("CostCenter"), Value: aws.String("hand-edited")},
		}},
	}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(sb.moto.URL) })
	if _, err := db.TagResource(ctx, &dynamodb.TagResourceInput{
		ResourceArn: aws.String("arn:aws:dynamodb:us-east-1:123456789012:table/shop-orders"),
		Tags:        []dbtypes.Tag{{Key: aws.String("Owner"), Value: aws.String("someone-else")}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("shop-assets")}); err != nil {
		t.Fatal(err)
	}

	d := checkDrift(t, w, environment.Prod, profile)
	want := []DriftChange{
		{Change: plan.Change{Address: "aws_dynamodb_table.orders", Type: "aws_dynamodb_table", Mode: "managed", Kind: plan.Update, Actions: []string{"update"}}, Attributes: []string{"tags"}},
		{Change: plan.Change{Address: "aws_s3_bucket.assets", Type: "aws_s3_bucket", Mode: "managed", Kind: plan.Delete, Actions: []string{"delete"}}},
		{Change: plan.Change{Address: "aws_s3_bucket.logs", Type: "aws_s3_bucket", Mode: "managed", Kind: plan.Update, Actions: []string{"update"}}, Attributes: []string{"tags"}},
	}
	if d.Status != DriftFound || !sameChanges(d.Changes, want) {
		t.Fatalf("drift = %+v\nwant changes %+v", d, want)
	}
	md := d.Markdown()
	for _, line := range []string{
		"## Drift: prod",
		"3 resource(s) changed outside Terraform",
		"| delete | `aws_s3_bucket.assets` | deleted outside Terraform |",
		"| update | `aws_s3_bucket.logs` | tags |",
	} {
		if !strings.Contains(md, line) {
			t.Errorf("markdown lacks %q:\n%s", line, md)
		}
	}
	js, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"status":"drift"`) || !strings.Contains(string(js), `"address":"aws_s3_bucket.logs"`) {
		t.Errorf("json: %s", js)
	}
	// Reports name what changed, never the values: a drifted attribute may hold a secret.
	for _, value := range []string{"hand-edited", "someone-else"} {
		if strings.Contains(md, value) || strings.Contains(string(js), value) {
			t.Errorf("the drift report shows the out-of-band value %q:\n%s\n%s", value, md, js)
		}
	}

	// A refresh-only plan only reads: the state still holds the old tags and both buckets.
	_, snap := pull(t, w)
	if strings.Join(snap.Addresses, ",") != "aws_dynamodb_table.orders,aws_s3_bucket.assets,aws_s3_bucket.logs,terraform_data.hold" {
		t.Errorf("drift check changed the state: %q", snap.Addresses)
	}

	// A held lock is reported as a lock, not as a failed drift check.
	other := sb.workspace(t, driftStack, func(w *tftest.Workspace) { providertest.Use(t, w, sb.moto) })
	holder := start(t, other, "apply", "-no-color", "-input=false", "-auto-approve",
		"-target=terraform_data.hold", "-var=hold=3")
	eventually(t, "the other run to take the lock", func() bool { return sb.lockObjectExists(t) })
	stdout, stderr, err := w.Exec(DriftArgs("drift.tfplan", LockArgs(profile)...)...)
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Fatalf("drift check under a held lock: %v\n%s%s", err, stdout, stderr)
	}
	_, err = ReadDrift(environment.Prod, 1, stdout+stderr, nil)
	var lockErr *LockError
	if !errors.As(err, &lockErr) || !strings.Contains(err.Error(), "terraform force-unlock "+lockErr.Lock.ID) {
		t.Errorf("ReadDrift under a held lock = %v, want a *LockError with the force-unlock command", err)
	}
	if err := holder.wait(t); err != nil {
		t.Fatalf("lock holder failed: %v\n%s", err, holder.out)
	}
}

func sameChanges(got, want []DriftChange) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return string(a) == string(b)
}
