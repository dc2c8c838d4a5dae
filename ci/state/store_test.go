package state

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/statebucket"
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

// newBackupBucket is an empty state bucket on moto_server and the prod backend writing to it.
func newBackupBucket(t *testing.T) (*s3.Client, environment.Backend) {
	t.Helper()
	_, client := motoS3(t)
	b := environment.Backend{Bucket: "infrapipe-tfstate", Key: "shop/prod/terraform.tfstate", Region: "us-east-1",
		UseLockfile: true, BackupPrefix: "backups/prod/"}
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b.Bucket)}); err != nil {
		t.Fatal(err)
	}
	return client, b
}

// TestTakeBackup backs up real `state pull` output: a state is uploaded, a fresh backend's
// pull is nothing to keep, and anything else is refused before it is kept.
func TestTakeBackup(t *testing.T) {
	client, b := newBackupBucket(t)
	ctx := context.Background()
	real := readTestdata(t, "state-serial4.tfstate")
	taken := time.Date(2026, 11, 27, 6, 17, 0, 0, time.UTC)
	tests := []struct {
		name    string
		pulled  []byte
		wantKey string // prefix; "" for no backup
		wantErr string
	}{
		{name: "a state", pulled: real, wantKey: "backups/prod/20261127T061700Z-serial-4-"},
		{name: "a fresh backend", pulled: []byte(`{"version":4,"terraform_version":"1.11.4","serial":0,"lineage":"","outputs":{},"resources":[],"check_results":null}`)},
		{name: "nothing pulled", pulled: nil},
		{name: "an error message", pulled: []byte("Error: Failed to load state"), wantErr: "backup of prod: not a Terraform state (JSON)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := ListBackups(ctx, client, environment.Prod, b)
			if err != nil {
				t.Fatal(err)
			}
			backup, key, err := TakeBackup(ctx, client, environment.Prod, b, tt.pulled, taken)
			after, listErr := ListBackups(ctx, client, environment.Prod, b)
			if listErr != nil {
				t.Fatal(listErr)
			}
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || len(after) != len(before) {
					t.Fatalf("TakeBackup = %q, %v (backups %d -> %d); want %q and nothing kept", key, err, len(before), len(after), tt.wantErr)
				}
			case tt.wantKey == "":
				if err != nil || key != "" || len(after) != len(before) {
					t.Fatalf("TakeBackup = %q, %v (backups %d -> %d); want nothing kept", key, err, len(before), len(after))
				}
			default:
				if err != nil || !strings.HasPrefix(key, tt.wantKey) || key != backup.Key(b.BackupPrefix) || len(after) != len(before)+1 {
					t.Fatalf("TakeBackup = %q, %v (backups %d -> %d); want a key %s…", key, err, len(before), len(after), tt.wantKey)
				}
				got, data, err := DownloadBackup(ctx, client, environment.Prod, b.Bucket, key)
				if err != nil || got != backup || !bytes.Equal(data, tt.pulled) {
					t.Fatalf("the uploaded backup reads back as %+v, %v; want %+v and the pulled bytes", got, err, backup)
				}
			}
		})
	}
}

// TestBackupListingAndLoadBackup lists and loads real backups on moto_server, by key and as
// "latest", and refuses a missing or corrupt one.
func TestBackupListingAndLoadBackup(t *testing.T) {
	client, b := newBackupBucket(t)
	ctx := context.Background()
	if got, err := BackupListing(ctx, client, environment.Prod, b); err != nil || got != "no backups of prod yet\n" {
		t.Fatalf("BackupListing of an empty prefix = %q, %v", got, err)
	}
	if _, _, err := LoadBackup(ctx, client, environment.Prod, b, "latest"); err == nil ||
		err.Error() != "--from=latest: prod has no backups under its backup prefix" {
		t.Fatalf("LoadBackup latest of no backups = %v", err)
	}

	real := readTestdata(t, "state-serial4.tfstate")
	older, newer := withSerial(t, real, 3, ""), withSerial(t, real, 4, "")
	var keys []string
	for i, data := range [][]byte{older, newer} {
		_, key, err := TakeBackup(ctx, client, environment.Prod, b, data, time.Date(2026, 11, 27, 6, i, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	// A backup whose bytes no longer match its recorded checksum.
	corrupt := "backups/prod/20261127T070000Z-serial-9-00000000.tfstate"
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(corrupt), Body: bytes.NewReader(older)}); err != nil {
		t.Fatal(err)
	}
	if got, err := BackupListing(ctx, client, environment.Prod, b); err != nil || got != corrupt+"\n"+keys[1]+"\n"+keys[0]+"\n" {
		t.Errorf("BackupListing = %q, %v; want the three keys newest first", got, err)
	}

	tests := []struct {
		from    string
		want    []byte
		wantErr string
	}{
		{from: keys[0], want: older},
		{from: keys[1], want: newer},
		{from: "latest", wantErr: "is corrupt: name says sha256 00000000…"}, // the newest is the corrupt one
		{from: "backups/prod/missing.tfstate", wantErr: "no backup s3://infrapipe-tfstate/backups/prod/missing.tfstate: dagger call backups --env=prod lists the backups there are"},
		{from: "backups/test/20261127T060000Z-serial-3-1a2b3c4d.tfstate", wantErr: `--from "backups/test/20261127T060000Z-serial-3-1a2b3c4d.tfstate" is not one of this stack's prod backups (another stack's, or another environment's, are refused): give "latest" or a key under s3://infrapipe-tfstate/backups/prod/`},
		{from: "backups/prod/../test/x.tfstate", wantErr: "is not one of this stack's prod backups"},
		{from: "backups/stacks/network/prod/20261207T045212Z-serial-2-c1385542.tfstate", wantErr: `--from "backups/stacks/network/prod/20261207T045212Z-serial-2-c1385542.tfstate" is not one`},
		{from: "Latest", wantErr: `--from "Latest" is not one of this stack's prod backups`},
	}
	for _, tt := range tests {
		t.Run(tt.from, func(t *testing.T) {
			key, got, err := LoadBackup(ctx, client, environment.Prod, b, tt.from)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadBackup(%s) = %v, want %q", tt.from, err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) || key != tt.from {
				t.Fatalf("LoadBackup(%s) = %s, %d bytes, %v; want its key and the backup's bytes", tt.from, key, len(got), err)
			}
		})
	}
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(corrupt)}); err != nil {
		t.Fatal(err)
	}
	// latest is resolved to the newest backup's key, which the --confirm line then names.
	if key, got, err := LoadBackup(ctx, client, environment.Prod, b, "latest"); err != nil || !bytes.Equal(got, newer) || key != keys[1] {
		t.Errorf("LoadBackup latest = %s, %d bytes, %v; want the newest backup, %s", key, len(got), err, keys[1])
	}
	// A backend pipeline.yaml left without a bucket is named before S3 is asked.
	noBucket := b
	noBucket.Bucket = ""
	if _, err := BackupListing(ctx, client, environment.Prod, noBucket); err == nil || !strings.HasPrefix(err.Error(), "backend of prod: bucket is missing") {
		t.Errorf("BackupListing without a bucket = %v", err)
	}
	if _, _, err := LoadBackup(ctx, client, environment.Prod, noBucket, "latest"); err == nil || !strings.HasPrefix(err.Error(), "backend of prod: bucket is missing") {
		t.Errorf("LoadBackup without a bucket = %v", err)
	}
}

// TestMissingBucket lists the backups of a backend whose bucket does not exist on a real S3
// API (moto): the error names the bucket and what to do, not S3's 404 and request IDs.
func TestMissingBucket(t *testing.T) {
	client, b := newBackupBucket(t)
	b.Bucket = "infrapipe-tfstate-typo"
	_, err := BackupListing(context.Background(), client, environment.Prod, b)
	var missing *statebucket.MissingError
	if !errors.As(err, &missing) || missing.Bucket != b.Bucket {
		t.Fatalf("BackupListing on a missing bucket = %v, want a *statebucket.MissingError", err)
	}
	want := "list backups s3://infrapipe-tfstate-typo/backups/prod/: state bucket infrapipe-tfstate-typo does not exist: create it, with versioning on, or correct backend.bucket in pipeline.yaml"
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
}
