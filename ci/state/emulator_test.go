package state

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
)

// PrepareEmulator makes, on a real moto_server, the bucket (versioned, in the backend's
// region) and the lock table the backend expects; a second call finds them and changes
// nothing.
func TestPrepareEmulator(t *testing.T) {
	moto := mototest.Start(t)
	moto.Setenv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, region, table string
	}{
		{"us-east-1 without a lock table", "us-east-1", ""},
		{"another region with a lock table", "eu-west-1", "terraform-locks"},
		{"us-east-1 with a lock table", "us-east-1", "locks.prod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			moto.Reset(t)
			b := environment.Backend{Bucket: "infrapipe-tfstate", Key: "shop/prod/terraform.tfstate", Region: tc.region, DynamoDBTable: tc.table}
			for call := range 2 {
				if err := PrepareEmulator(ctx, moto.URL, b); err != nil {
					t.Fatalf("call %d: %v", call+1, err)
				}
			}
			client, err := NewS3Client(ctx, tc.region, moto.URL)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckVersioning(ctx, client, environment.Prod, b.Bucket); err != nil {
				t.Error(err)
			}
			loc, err := client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(b.Bucket)})
			if err != nil {
				t.Fatal(err)
			}
			want := types.BucketLocationConstraint(tc.region)
			if tc.region == "us-east-1" {
				want = "" // S3 names us-east-1 by no constraint
			}
			if loc.LocationConstraint != want {
				t.Errorf("bucket location %q, want %q", loc.LocationConstraint, want)
			}
			tables := listTables(t, moto, tc.region)
			if tc.table == "" && len(tables) != 0 || tc.table != "" && (len(tables) != 1 || tables[0] != tc.table) {
				t.Errorf("tables in %s: %v, want [%s]", tc.region, tables, tc.table)
			}
			if tc.region != "us-east-1" {
				if other := listTables(t, moto, "us-east-1"); len(other) != 0 {
					t.Errorf("tables in us-east-1: %v, want none (the backend is in %s)", other, tc.region)
				}
			}
		})
	}
}

func listTables(t *testing.T, moto *mototest.Server, region string) []string {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region))
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(moto.URL) })
	out, err := db.ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	return out.TableNames
}

// A lock table already there with another key, and an emulator that does not answer, fail
// with the table's or the bucket's name; a backend without a bucket is left to the
// backend's validation.
func TestPrepareEmulatorRefused(t *testing.T) {
	moto := mototest.Start(t)
	moto.Setenv(t)
	ctx := context.Background()
	if err := PrepareEmulator(ctx, moto.URL, environment.Backend{}); err != nil {
		t.Errorf("no bucket: %v, want nil", err)
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(moto.URL) })
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("by-hand"),
		BillingMode:          dbtypes.BillingModePayPerRequest,
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: dbtypes.KeyTypeHash}},
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: dbtypes.ScalarAttributeTypeS}},
	}); err != nil {
		t.Fatal(err)
	}
	b := environment.Backend{Bucket: "infrapipe-tfstate", Region: "us-east-1", DynamoDBTable: "by-hand"}
	if err := PrepareEmulator(ctx, moto.URL, b); err == nil || !strings.Contains(err.Error(), "lock table by-hand in us-east-1 has no hash key LockID") {
		t.Errorf("a table keyed by id: %v, want it named as without LockID", err)
	}
	url := moto.URL
	moto.Stop()
	if err := PrepareEmulator(ctx, url, b); err == nil || !strings.Contains(err.Error(), "emulated state bucket infrapipe-tfstate") {
		t.Errorf("no emulator: %v, want an error naming the bucket", err)
	}
}
