package state

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// PrepareEmulator creates what the backend expects to exist before terraform init, in an
// AWS emulator at endpoint (moto): the state bucket, versioned as CheckVersioning requires,
// and the DynamoDB lock table (hash key LockID, as the S3 backend reads it) when the backend
// locks with one. On real AWS these are the user's to create, so it is never called there.
// Both are made in the backend's region. It is idempotent: what already exists is kept. A
// backend without a bucket is left to ValidateBackend, which names the missing key at init.
func PrepareEmulator(ctx context.Context, endpoint string, b environment.Backend) error {
	if b.Bucket == "" {
		return nil
	}
	region := b.Region
	client, err := NewS3Client(ctx, region, endpoint)
	if err != nil {
		return fmt.Errorf("emulated state bucket %s: %w", b.Bucket, err)
	}
	if err := createBucket(ctx, client, region, b.Bucket); err != nil {
		return err
	}
	if b.DynamoDBTable == "" {
		return nil
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return fmt.Errorf("emulated lock table %s: load AWS configuration: %w", b.DynamoDBTable, err)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	return createLockTable(ctx, db, region, b.DynamoDBTable)
}

// createBucket creates a versioned bucket in region, or versions the one already there.
func createBucket(ctx context.Context, client *s3.Client, region, bucket string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != "us-east-1" { // the one region S3 refuses a location constraint for
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}
	}
	_, err := client.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("create the emulated state bucket %s in %s: %w", bucket, region, err)
	}
	if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	}); err != nil {
		return fmt.Errorf("enable versioning on the emulated state bucket %s: %w", bucket, err)
	}
	return nil
}

// createLockTable creates the backend's lock table unless it is there already.
func createLockTable(ctx context.Context, db *dynamodb.Client, region, table string) error {
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          dbtypes.BillingModePayPerRequest,
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("LockID"), KeyType: dbtypes.KeyTypeHash}},
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("LockID"), AttributeType: dbtypes.ScalarAttributeTypeS}},
	})
	var inUse *dbtypes.ResourceInUseException
	if err == nil {
		return nil
	}
	if !errors.As(err, &inUse) {
		return fmt.Errorf("create the emulated lock table %s in %s: %w", table, region, err)
	}
	// A table made by hand with another key would fail every lock with an obscure error.
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("read the emulated lock table %s in %s: %w", table, region, err)
	}
	for _, k := range out.Table.KeySchema {
		if k.KeyType == dbtypes.KeyTypeHash && aws.ToString(k.AttributeName) == "LockID" {
			return nil
		}
	}
	return fmt.Errorf("the emulated lock table %s in %s has no hash key LockID, which the state backend locks by: delete it and rerun", table, region)
}
