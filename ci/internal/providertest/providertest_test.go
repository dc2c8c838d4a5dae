package providertest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/providertest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// kind drives one resource type of the provider from Terraform and inspects it with the
// AWS SDK, so every test runs over all of them.
type kind struct {
	typ string
	// block is the resource "<typ>" "this" body, given a tags expression.
	block  string
	create func(ctx context.Context, a *sdk) (id string, err error) // out of band
	get    func(ctx context.Context, a *sdk, id string) (tags map[string]string, exists bool, err error)
	tag    func(ctx context.Context, a *sdk, id string, tags map[string]string) error
	delete func(ctx context.Context, a *sdk, id string) error
}

type sdk struct {
	s3  *s3.Client
	ddb *dynamodb.Client
	sns *sns.Client
}

func newSDK(moto *mototest.Server) *sdk {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(moto.URL),
	}
	return &sdk{
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		ddb: dynamodb.NewFromConfig(cfg),
		sns: sns.NewFromConfig(cfg),
	}
}

func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

var kinds = []kind{
	{
		typ:   "aws_s3_bucket",
		block: `bucket = "logs"`,
		create: func(ctx context.Context, a *sdk) (string, error) {
			_, err := a.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("logs")})
			return "logs", err
		},
		get: s3Get,
		tag: func(ctx context.Context, a *sdk, id string, tags map[string]string) error {
			// S3 replaces the whole set; merge to add or overwrite like the other services.
			merged, ok, err := s3Get(ctx, a, id)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("tag bucket %s: no such bucket", id)
			}
			maps.Copy(merged, tags)
			var set []s3types.Tag
			for k, v := range merged {
				set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			_, err = a.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{
				Bucket: aws.String(id), Tagging: &s3types.Tagging{TagSet: set},
			})
			return err
		},
		delete: func(ctx context.Context, a *sdk, id string) error {
			_, err := a.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(id)})
			return err
		},
	},
	{
		typ: "aws_dynamodb_table",
		block: `name         = "locks"
  hash_key     = "LockID"
  billing_mode = "PAY_PER_REQUEST"
  attribute {
    name = "LockID"
    type = "S"
  }`,
		create: func(ctx context.Context, a *sdk) (string, error) {
			_, err := a.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName:   aws.String("locks"),
				BillingMode: ddbtypes.BillingModePayPerRequest,
				KeySchema:   []ddbtypes.KeySchemaElement{{AttributeName: aws.String("LockID"), KeyType: ddbtypes.KeyTypeHash}},
				AttributeDefinitions: []ddbtypes.AttributeDefinition{
					{AttributeName: aws.String("LockID"), AttributeType: ddbtypes.ScalarAttributeTypeS},
				},
			})
			return "locks", err
		},
		get: func(ctx context.Context, a *sdk, id string) (map[string]string, bool, error) {
			out, err := a.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(id)})
			if err != nil {
				return nil, false, ignore(err, apiCode(err) == "ResourceNotFoundException")
			}
			tags, err := a.ddb.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: out.Table.TableArn})
			if err != nil {
				return nil, true, err
			}
			m := map[string]string{}
			for _, t := range tags.Tags {
				m[*t.Key] = *t.Value
			}
			return m, true, nil
		},
		tag: func(ctx context.Context, a *sdk, id string, tags map[string]string) error {
			out, err := a.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(id)})
			if err != nil {
				return err
			}
			in := &dynamodb.TagResourceInput{ResourceArn: out.Table.TableArn}
			for k, v := range tags {
				in.Tags = append(in.Tags, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			_, err = a.ddb.TagResource(ctx, in)
			return err
		},
		delete: func(ctx context.Context, a *sdk, id string) error {
			_, err := a.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(id)})
			return err
		},
	},
	{
		typ:   "aws_sns_topic",
		block: `name = "alerts"`,
		create: func(ctx context.Context, a *sdk) (string, error) {
			out, err := a.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
			if err != nil {
				return "", err
			}
			return *out.TopicArn, nil
		},
		get: func(ctx context.Context, a *sdk, id string) (map[string]string, bool, error) {
			_, err := a.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(id)})
			if err != nil {
				return nil, false, ignore(err, apiCode(err) == "NotFound")
			}
			out, err := a.sns.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(id)})
			if err != nil {
				return nil, true, err
			}
			m := map[string]string{}
			for _, t := range out.Tags {
				m[*t.Key] = *t.Value
			}
			return m, true, nil
		},
		tag: func(ctx context.Context, a *sdk, id string, tags map[string]string) error {
			in := &sns.TagResourceInput{ResourceArn: aws.String(id)}
			for k, v := range tags {
				in.Tags = append(in.Tags, snstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			_, err := a.sns.TagResource(ctx, in)
			return err
		},
		delete: func(ctx context.Context, a *sdk, id string) error {
			_, err := a.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(id)})
			return err
		},
	},
}

func s3Get(ctx context.Context, a *sdk, id string) (map[string]string, bool, error) {
	if _, err := a.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(id)}); err != nil {
		var nf *s3types.NotFound
		return nil, false, ignore(err, errors.As(err, &nf))
	}
	out, err := a.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(id)})
	if apiCode(err) == "NoSuchTagSet" {
		return map[string]string{}, true, nil
	}
	if err != nil {
		return nil, true, err
	}
	tags := map[string]string{}
	for _, t := range out.TagSet {
		tags[*t.Key] = *t.Value
	}
	return tags, true, nil
}

// ignore drops err when it is the "not found" the caller expects.
func ignore(err error, notFound bool) error {
	if notFound {
		return nil
	}
	return err
}

// config is the configuration for one kind: written as for the real provider, with a
// version constraint that only a 5.x provider meets.
func (k kind) config(tags string) string {
	return fmt.Sprintf(`terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}
resource %q "this" {
  %s
  tags = %s
}
`, k.typ, k.block, tags)
}

func (k kind) address() string { return k.typ + ".this" }

func workspace(t *testing.T, moto *mototest.Server, mainTF string) *tftest.Workspace {
	t.Helper()
	w := tftest.New(t, map[string]string{"main.tf": mainTF})
	providertest.Use(t, w, moto)
	w.Init()
	return w
}

func parsePlan(t *testing.T, raw []byte) *tfjson.Plan {
	t.Helper()
	var p tfjson.Plan
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("parse plan JSON: %v\n%s", err, raw)
	}
	return &p
}

// state reads the kind's id from terraform show -json.
func stateID(t *testing.T, w *tftest.Workspace, address string) string {
	t.Helper()
	var s tfjson.State
	if err := json.Unmarshal([]byte(w.Run("show", "-json")), &s); err != nil {
		t.Fatalf("parse state JSON: %v", err)
	}
	for _, r := range s.Values.RootModule.Resources {
		if r.Address == address {
			return r.AttributeValues["id"].(string)
		}
	}
	t.Fatalf("%s not in state", address)
	return ""
}

// eachKind runs test once per resource type, in parallel, with a moto_server of the
// test's own: the kinds' objects have fixed names, so two tests must not share one.
func eachKind(t *testing.T, test func(t *testing.T, k kind, moto *mototest.Server, a *sdk)) {
	t.Parallel()
	moto := mototest.Start(t)
	a := newSDK(moto)
	for _, k := range kinds {
		t.Run(k.typ, func(t *testing.T) {
			t.Parallel()
			test(t, k, moto, a)
		})
	}
}

// createOutOfBand creates the kind's object with the SDK, as something other than
// Terraform would, tags it and returns its id.
func (k kind) createOutOfBand(t *testing.T, a *sdk, tags map[string]string) string {
	t.Helper()
	id, err := k.create(t.Context(), a)
	if err != nil {
		t.Fatalf("create %s out of band: %v", k.typ, err)
	}
	if err := k.tag(t.Context(), a, id, tags); err != nil {
		t.Fatalf("tag %s %s out of band: %v", k.typ, id, err)
	}
	return id
}

// importBlock imports the object with id into the kind's address.
func (k kind) importBlock(id string) string {
	return fmt.Sprintf("import {\n  to = %s\n  id = %q\n}\n", k.address(), id)
}

// isNoOpImport reports whether the plan imports one object and changes nothing.
func isNoOpImport(p *tfjson.Plan) bool {
	return changed(p) == nil && len(p.ResourceChanges) == 1 && p.ResourceChanges[0].Change.Importing != nil
}

// TestLifecycle applies each resource type, changes its tags out of band and expects
// refresh-only drift, applies the configuration back, drops a tag from it, and destroys
// it, checking moto with the SDK at every step.
func TestLifecycle(t *testing.T) {
	eachKind(t, func(t *testing.T, k kind, moto *mototest.Server, a *sdk) {
		ctx := t.Context()
		w := workspace(t, moto, k.config(`{ project = "infrapipe", env = "test" }`))
		w.Apply()
		id := stateID(t, w, k.address())
		want := map[string]string{"project": "infrapipe", "env": "test"}
		if tags, ok, err := k.get(ctx, a, id); err != nil || !ok || !maps.Equal(tags, want) {
			t.Fatalf("after apply: exists %v, tags %v, err %v; want tags %v", ok, tags, err, want)
		}
		if p := parsePlan(t, w.PlanJSON()); len(p.ResourceDrift) != 0 || changed(p) != nil {
			t.Fatalf("plan right after apply: drift %d, changes %v; want none", len(p.ResourceDrift), changed(p))
		}

		if err := k.tag(ctx, a, id, map[string]string{"env": "prod"}); err != nil {
			t.Fatal(err)
		}
		p := parsePlan(t, w.PlanJSON("-refresh-only"))
		if len(p.ResourceDrift) != 1 {
			t.Fatalf("refresh-only plan after an out-of-band tag change: %d drifted, want 1", len(p.ResourceDrift))
		}
		d := p.ResourceDrift[0]
		before, after := tagsOf(d.Change.Before), tagsOf(d.Change.After)
		if d.Address != k.address() || !d.Change.Actions.Update() || before["env"] != "test" || after["env"] != "prod" {
			t.Fatalf("drift %s %v tags %v -> %v; want %s update env test -> prod",
				d.Address, d.Change.Actions, before, after, k.address())
		}

		_, _, err := w.Exec("plan", "-refresh-only", "-detailed-exitcode", "-no-color", "-input=false")
		if code := exitCode(err); code != 2 {
			t.Fatalf("plan -refresh-only -detailed-exitcode after drift exits %d (%v), want 2", code, err)
		}

		w.Apply() // puts the configured tags back
		if tags, _, err := k.get(ctx, a, id); err != nil || !maps.Equal(tags, want) {
			t.Fatalf("after re-apply: tags %v, err %v; want %v", tags, err, want)
		}

		// A tag dropped from the configuration leaves the object, in place.
		w.Write("main.tf", k.config(`{ project = "infrapipe" }`))
		w.Apply()
		want = map[string]string{"project": "infrapipe"}
		if tags, _, err := k.get(ctx, a, id); err != nil || !maps.Equal(tags, want) {
			t.Fatalf("after dropping env from the configuration: tags %v, err %v; want %v", tags, err, want)
		}
		if got := stateID(t, w, k.address()); got != id {
			t.Fatalf("state id after a tag change = %q, want %q (updated in place)", got, id)
		}

		w.Run("destroy", "-auto-approve", "-no-color")
		if _, ok, err := k.get(ctx, a, id); err != nil || ok {
			t.Fatalf("after destroy: exists %v, err %v; want gone", ok, err)
		}
	})
}

// TestImport plans an import {} block for an object created with the SDK, as the import
// pipeline does, then applies it and finds it in state with its remote tags.
func TestImport(t *testing.T) {
	eachKind(t, func(t *testing.T, k kind, moto *mototest.Server, a *sdk) {
		ctx := t.Context()
		id := k.createOutOfBand(t, a, map[string]string{"project": "infrapipe"})
		// The configured tags differ from the remote ones: the import plans an update.
		w := workspace(t, moto, k.config(`{ project = "infrapipe", env = "test" }`)+k.importBlock(id))
		p := parsePlan(t, w.PlanJSON())
		var imports []string
		for _, rc := range p.ResourceChanges {
			if rc.Change.Importing != nil {
				imports = append(imports, fmt.Sprintf("%s id=%s %v", rc.Address, rc.Change.Importing.ID, rc.Change.Actions))
			}
		}
		want := fmt.Sprintf("%s id=%s [update]", k.address(), id)
		if len(imports) != 1 || imports[0] != want {
			t.Fatalf("plan imports %q, want [%s]", imports, want)
		}
		w.Apply()
		if got := stateID(t, w, k.address()); got != id {
			t.Fatalf("state id after import = %q, want %q", got, id)
		}
		if tags, _, err := k.get(ctx, a, id); err != nil || tags["env"] != "test" {
			t.Fatalf("after applying the import: tags %v, err %v; want env=test", tags, err)
		}
	})
}

// TestDeletedOutOfBand expects an object deleted behind Terraform's back to leave the
// state on refresh (a delete in resource_drift) and to be planned for creation again.
func TestDeletedOutOfBand(t *testing.T) {
	eachKind(t, func(t *testing.T, k kind, moto *mototest.Server, a *sdk) {
		w := workspace(t, moto, k.config("{}"))
		w.Apply()
		if err := k.delete(t.Context(), a, stateID(t, w, k.address())); err != nil {
			t.Fatal(err)
		}
		p := parsePlan(t, w.PlanJSON("-refresh-only"))
		if len(p.ResourceDrift) != 1 || !p.ResourceDrift[0].Change.Actions.Delete() {
			t.Fatalf("refresh-only plan after deleting out of band: drift %v, want one delete", drift(p))
		}
		p = parsePlan(t, w.PlanJSON())
		if got := changed(p); len(got) != 1 || !got[k.address()].Create() {
			t.Fatalf("plan after deleting out of band: %v, want %s create", got, k.address())
		}
	})
}

// TestInvalidConfig expects clear plan-time errors naming the input and the valid values.
func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	moto := mototest.Start(t)
	tests := []struct {
		name, body, want string
	}{
		{"billing mode", `name = "t"
  hash_key = "id"
  billing_mode = "PROVISIONED"
  attribute {
    name = "id"
    type = "S"
  }`, `billing_mode "PROVISIONED" is not supported by the test provider; valid values: PAY_PER_REQUEST`},
		{"attribute type", `name = "t"
  hash_key = "id"
  attribute {
    name = "id"
    type = "X"
  }`, `attribute "id" has type "X"; valid values: S, N, B`},
		{"undefined hash key", `name = "t"
  hash_key = "pk"
  attribute {
    name = "id"
    type = "S"
  }`, `hash_key "pk" needs an attribute block with that name`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := workspace(t, moto, fmt.Sprintf("resource \"aws_dynamodb_table\" \"this\" {\n  %s\n}\n", tc.body))
			_, stderr, err := w.Exec("validate", "-no-color")
			if err == nil || !strings.Contains(strings.Join(strings.Fields(strings.ReplaceAll(stderr, "│", " ")), " "), tc.want) {
				t.Fatalf("validate: err %v, stderr %s; want an error containing %q", err, stderr, tc.want)
			}
		})
	}
}

func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func tagsOf(v any) map[string]any {
	tags, _ := v.(map[string]any)["tags"].(map[string]any)
	return tags
}

// changed lists the planned changes other than no-ops, by address.
func changed(p *tfjson.Plan) map[string]tfjson.Actions {
	var m map[string]tfjson.Actions
	for _, rc := range p.ResourceChanges {
		if !rc.Change.Actions.NoOp() {
			if m == nil {
				m = map[string]tfjson.Actions{}
			}
			m[rc.Address] = rc.Change.Actions
		}
	}
	return m
}

func drift(p *tfjson.Plan) map[string]tfjson.Actions {
	m := map[string]tfjson.Actions{}
	for _, rc := range p.ResourceDrift {
		m[rc.Address] = rc.Change.Actions
	}
	return m
}

// TestGenerateConfig runs an import {} block without a resource block through
// -generate-config-out, as a discovery tool might: the generated HCL must plan the import
// as a no-op, or the provider's schema would be unusable for generation.
func TestGenerateConfig(t *testing.T) {
	eachKind(t, func(t *testing.T, k kind, moto *mototest.Server, a *sdk) {
		id := k.createOutOfBand(t, a, map[string]string{"project": "infrapipe"})
		w := workspace(t, moto, k.importBlock(id))
		w.Run("plan", "-no-color", "-input=false", "-generate-config-out=generated.tf")
		if p := parsePlan(t, w.PlanJSON()); !isNoOpImport(p) {
			t.Fatalf("plan with the generated configuration: %d changes %v, want one no-op import", len(p.ResourceChanges), changed(p))
		}
	})
}

// TestExplicitProviderBlock configures the provider as HCL for the real provider does,
// with no AWS_ENDPOINT_URL: per-service endpoints, path-style S3 and the skip_* switches.
func TestExplicitProviderBlock(t *testing.T) {
	t.Parallel()
	moto := mototest.Start(t)
	w := tftest.New(t, map[string]string{"main.tf": fmt.Sprintf(`
provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = "true"
  s3_use_path_style           = true
  endpoints {
    s3       = %[1]q
    dynamodb = %[1]q
    sns      = %[1]q
    sts      = %[1]q
  }
}
resource "aws_s3_bucket" "this" {
  bucket = "eu-logs"
}
resource "aws_sns_topic" "this" {
  name = "eu-alerts"
}
`, moto.URL)})
	providertest.Use(t, w, moto)
	w.Env = slices.DeleteFunc(w.Env, func(kv string) bool {
		return strings.HasPrefix(kv, "AWS_ENDPOINT_URL=") || strings.HasPrefix(kv, "AWS_REGION=")
	})
	w.Env = append(w.Env, "AWS_ENDPOINT_URL=", "AWS_REGION=", "AWS_DEFAULT_REGION=")
	w.Init()
	w.Apply()
	if arn := stateID(t, w, "aws_sns_topic.this"); !strings.HasPrefix(arn, "arn:aws:sns:eu-west-1:") {
		t.Fatalf("topic ARN %q is not in the configured region eu-west-1", arn)
	}
	a := newSDK(moto)
	out, err := a.s3.GetBucketLocation(t.Context(), &s3.GetBucketLocationInput{Bucket: aws.String("eu-logs")})
	if err != nil {
		t.Fatalf("bucket eu-logs: %v", err)
	}
	if out.LocationConstraint != "eu-west-1" {
		t.Fatalf("bucket eu-logs is in %q, want the configured region eu-west-1", out.LocationConstraint)
	}
}

// TestNoRegion expects the provider to name the missing setting rather than fail inside
// the SDK.
func TestNoRegion(t *testing.T) {
	t.Parallel()
	moto := mototest.Start(t)
	w := tftest.New(t, map[string]string{"main.tf": `resource "aws_sns_topic" "this" { name = "alerts" }`})
	providertest.Use(t, w, moto)
	w.Env = append(w.Env, "AWS_REGION=", "AWS_DEFAULT_REGION=", "AWS_CONFIG_FILE=/dev/null")
	w.Init()
	_, stderr, err := w.Exec("plan", "-no-color", "-input=false")
	want := "no region: set region in the provider block or AWS_REGION"
	if err == nil || !strings.Contains(stderr, want) {
		t.Fatalf("plan without a region: err %v, stderr %s; want an error containing %q", err, stderr, want)
	}
}

// TestDefaultTags imports objects tagged as a stack with provider default_tags tags them,
// expects a no-op import, then changes a default tag out of band and expects drift (in
// tags: there is no tags_all) that the next apply repairs.
func TestDefaultTags(t *testing.T) {
	eachKind(t, func(t *testing.T, k kind, moto *mototest.Server, a *sdk) {
		ctx := t.Context()
		want := map[string]string{"Project": "infrapipe", "env": "test"}
		id := k.createOutOfBand(t, a, want)
		w := workspace(t, moto, `
provider "aws" {
  default_tags {
    tags = { Project = "infrapipe" }
  }
}
`+k.importBlock(id)+k.config(`{ env = "test" }`))
		p := parsePlan(t, w.PlanJSON())
		if !isNoOpImport(p) {
			t.Fatalf("import with default_tags: %d changes %v; want one no-op import", len(p.ResourceChanges), changed(p))
		}
		w.Apply()

		if err := k.tag(ctx, a, id, map[string]string{"Project": "other"}); err != nil {
			t.Fatal(err)
		}
		p = parsePlan(t, w.PlanJSON("-refresh-only"))
		if len(p.ResourceDrift) != 1 {
			t.Fatalf("refresh-only plan after changing a default tag: %d drifted, want 1", len(p.ResourceDrift))
		}
		if after := tagsOf(p.ResourceDrift[0].Change.After); after["Project"] != "other" || after["env"] != "test" {
			t.Fatalf("drifted tags = %v, want Project=other env=test", after)
		}
		w.Apply()
		if tags, _, err := k.get(ctx, a, id); err != nil || !maps.Equal(tags, want) {
			t.Fatalf("after apply: tags %v, err %v; want %v", tags, err, want)
		}
	})
}
