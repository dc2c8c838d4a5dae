package state

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// TestCheckVersioning reads real buckets on moto_server in each versioning state.
func TestCheckVersioning(t *testing.T) {
	_, client := motoS3(t)
	ctx := context.Background()
	tests := []struct {
		bucket  string
		status  types.BucketVersioningStatus // "" leaves versioning as created: never enabled
		create  bool
		wantErr string
	}{
		{bucket: "state-enabled", status: types.BucketVersioningStatusEnabled, create: true},
		{bucket: "state-suspended", status: types.BucketVersioningStatusSuspended, create: true,
			wantErr: "state bucket state-suspended of prod has versioning Suspended (want Enabled)"},
		{bucket: "state-plain", create: true,
			wantErr: "has versioning never enabled (want Enabled), so an overwritten state would be lost; enable it: aws s3api put-bucket-versioning --bucket state-plain --versioning-configuration Status=Enabled"},
		{bucket: "state-missing", wantErr: "state bucket state-missing of prod: read its versioning"},
	}
	for _, tt := range tests {
		t.Run(tt.bucket, func(t *testing.T) {
			if tt.create {
				if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(tt.bucket)}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.status != "" {
				if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(tt.bucket),
					VersioningConfiguration: &types.VersioningConfiguration{Status: tt.status}}); err != nil {
					t.Fatal(err)
				}
			}
			err := CheckVersioning(ctx, client, environment.Prod, tt.bucket)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckVersioning = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckVersioning = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
