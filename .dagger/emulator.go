package main

import (
	"context"
	"fmt"

	"dagger/infra/internal/dagger"
)

// bootstrapScript creates what the state backend expects to exist before init, in the
// emulator only: the state bucket (versioned, as the state backend requires) and, when the
// backend uses one, the DynamoDB lock table. It runs in the moto image, which has Python;
// moto ignores signatures but reads the region from the Authorization header.
const bootstrapScript = `
import json, os, urllib.error, urllib.request

endpoint = os.environ["AWS_ENDPOINT_URL"]
region = os.environ["AWS_REGION"]
bucket = os.environ["STATE_BUCKET"]
table = os.environ.get("LOCK_TABLE", "")

def call(method, url, body=b"", service="s3", headers=None, exists=()):
    # Without a Content-Type, urllib sends form encoding and moto reads no XML body.
    h = {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/%s/%s/aws4_request, SignedHeaders=host, Signature=0" % (region, service),
         "Content-Type": "application/xml"}
    h.update(headers or {})
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=body, method=method, headers=h))
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        if not any(x in text for x in exists):
            raise SystemExit("%s %s: %s %s" % (method, url, e.code, text))

location = b"" if region == "us-east-1" else ("<CreateBucketConfiguration><LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>" % region).encode()
call("PUT", "%s/%s" % (endpoint, bucket), location, exists=("BucketAlreadyOwnedByYou", "BucketAlreadyExists"))
call("PUT", "%s/%s?versioning" % (endpoint, bucket), b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>")
if table:
    spec = {"TableName": table, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "LockID", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "LockID", "KeyType": "HASH"}]}
    call("POST", endpoint + "/", json.dumps(spec).encode(), service="dynamodb",
         headers={"X-Amz-Target": "DynamoDB_20120810.CreateTable", "Content-Type": "application/x-amz-json-1.0"},
         exists=("ResourceInUseException",))
print("emulator ready: bucket %s%s" % (bucket, ", lock table " + table if table else ""))
`

// bootstrapEmulator prepares the emulated account for the environment's backend and returns
// ctr unchanged once that is done; on real AWS the bucket is the user's to create.
func (r *run) bootstrapEmulator(ctx context.Context, ctr *dagger.Container) (*dagger.Container, error) {
	b := r.profile.Backend
	if b.Bucket == "" {
		return ctr, nil // ci/state's validation names the missing key at init
	}
	_, err := dag.Container().
		From(r.m.MotoImage).
		WithoutEntrypoint().
		WithServiceBinding(emulatorAlias, r.emulator).
		WithEnvVariable("AWS_ENDPOINT_URL", r.emulatorURL()).
		WithEnvVariable("AWS_REGION", r.region()).
		WithEnvVariable("STATE_BUCKET", b.Bucket).
		WithEnvVariable("LOCK_TABLE", b.DynamoDBTable).
		WithEnvVariable("CACHEBUSTER", cacheBuster()).
		WithExec([]string{"python3", "-c", bootstrapScript}).
		Sync(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare the emulated state bucket %s: %w", b.Bucket, err)
	}
	return ctr, nil
}
