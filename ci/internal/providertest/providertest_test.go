package providertest_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/providertest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

func awsConfig(moto *mototest.Server) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(moto.URL),
	}
}

func s3Client(moto *mototest.Server) *s3.Client {
	return s3.NewFromConfig(awsConfig(moto), func(o *s3.Options) { o.UsePathStyle = true })
}

func bucketTags(t *testing.T, c *s3.Client, name string) map[string]string {
	t.Helper()
	out, err := c.GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: aws.String(name)})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchTagSet" {
		return map[string]string{}
	}
	if err != nil {
		t.Fatalf("get tags of bucket %s: %v", name, err)
	}
	tags := map[string]string{}
	for _, tag := range out.TagSet {
		tags[*tag.Key] = *tag.Value
	}
	return tags
}

func bucketExists(t *testing.T, c *s3.Client, name string) bool {
	t.Helper()
	_, err := c.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(name)})
	var nf *s3types.NotFound
	if errors.As(err, &nf) {
		return false
	}
	if err != nil {
		t.Fatalf("head bucket %s: %v", name, err)
	}
	return true
}

func putBucketTags(t *testing.T, c *s3.Client, name string, tags map[string]string) {
	t.Helper()
	var set []s3types.Tag
	for k, v := range tags {
		set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := c.PutBucketTagging(context.Background(), &s3.PutBucketTaggingInput{
		Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: set},
	})
	if err != nil {
		t.Fatalf("tag bucket %s: %v", name, err)
	}
}

func plan(t *testing.T, raw []byte) *tfjson.Plan {
	t.Helper()
	var p tfjson.Plan
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("parse plan JSON: %v\n%s", err, raw)
	}
	return &p
}

func workspace(t *testing.T, moto *mototest.Server, mainTF string) *tftest.Workspace {
	t.Helper()
	w := tftest.New(t, map[string]string{"main.tf": mainTF})
	providertest.Use(t, w, moto)
	w.Init()
	return w
}

const bucketTF = `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}
resource "aws_s3_bucket" "logs" {
  bucket = "logs"
  tags   = { project = "infrapipe", env = "test" }
}
`

// TestBucketLifecycle walks one bucket through apply, drift and destroy, checking moto
// with the SDK at every step.
func TestBucketLifecycle(t *testing.T) {
	t.Parallel()
	moto := mototest.Start(t)
	c := s3Client(moto)
	w := workspace(t, moto, bucketTF)

	w.Apply()
	want := map[string]string{"project": "infrapipe", "env": "test"}
	if got := bucketTags(t, c, "logs"); !maps.Equal(got, want) {
		t.Fatalf("after apply, bucket tags = %v, want %v", got, want)
	}
	if p := plan(t, w.PlanJSON()); len(p.ResourceDrift) != 0 || !noChanges(p) {
		t.Fatalf("plan right after apply is not empty: drift %d, changes %v", len(p.ResourceDrift), actions(p))
	}

	putBucketTags(t, c, "logs", map[string]string{"project": "infrapipe", "env": "prod"})
	p := plan(t, w.PlanJSON("-refresh-only"))
	if len(p.ResourceDrift) != 1 {
		t.Fatalf("refresh-only plan after an out-of-band tag change: %d drifted resources, want 1", len(p.ResourceDrift))
	}
	d := p.ResourceDrift[0]
	before := d.Change.Before.(map[string]any)["tags"].(map[string]any)
	after := d.Change.After.(map[string]any)["tags"].(map[string]any)
	if d.Address != "aws_s3_bucket.logs" || !d.Change.Actions.Update() || before["env"] != "test" || after["env"] != "prod" {
		t.Fatalf("drift = %s %v tags %v -> %v, want aws_s3_bucket.logs update env test -> prod",
			d.Address, d.Change.Actions, before, after)
	}

	w.Run("destroy", "-auto-approve", "-no-color")
	if bucketExists(t, c, "logs") {
		t.Fatal("bucket logs still exists after terraform destroy")
	}
}

// TestBucketImport plans an import {} block for a bucket the SDK created, as the import
// pipeline does, then applies it and finds the bucket in state.
func TestBucketImport(t *testing.T) {
	t.Parallel()
	moto := mototest.Start(t)
	c := s3Client(moto)
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("logs")}); err != nil {
		t.Fatal(err)
	}
	putBucketTags(t, c, "logs", map[string]string{"project": "infrapipe", "env": "test"})
	w := workspace(t, moto, bucketTF+`
import {
  to = aws_s3_bucket.logs
  id = "logs"
}
`)
	p := plan(t, w.PlanJSON())
	var imports int
	for _, rc := range p.ResourceChanges {
		if rc.Change.Importing != nil {
			imports++
			if rc.Address != "aws_s3_bucket.logs" || rc.Change.Importing.ID != "logs" || !rc.Change.Actions.NoOp() {
				t.Errorf("import %s id %q actions %v, want aws_s3_bucket.logs id logs no-op",
					rc.Address, rc.Change.Importing.ID, rc.Change.Actions)
			}
		}
	}
	if imports != 1 {
		t.Fatalf("plan imports %d resources, want 1 (changes %v)", imports, actions(p))
	}
	w.Apply()
	if got := w.Run("state", "list"); got != "aws_s3_bucket.logs\n" {
		t.Fatalf("state list after importing = %q", got)
	}
}

func noChanges(p *tfjson.Plan) bool {
	for _, rc := range p.ResourceChanges {
		if !rc.Change.Actions.NoOp() {
			return false
		}
	}
	return true
}

func actions(p *tfjson.Plan) map[string]tfjson.Actions {
	m := map[string]tfjson.Actions{}
	for _, rc := range p.ResourceChanges {
		m[rc.Address] = rc.Change.Actions
	}
	return m
}
