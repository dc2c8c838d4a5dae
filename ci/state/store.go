package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/statebucket"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// ObjectStore is the part of the S3 API backups use; *s3.Client satisfies it.
type ObjectStore interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// NewS3Client builds a client from the usual AWS environment (credentials, profile). A
// non-empty endpoint (moto_server) switches to path-style addressing, as the backend does.
func NewS3Client(ctx context.Context, region, endpoint string) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		// Objects written without a checksum (Terraform's own state writes, moto) would log
		// a debug line on every read.
		o.DisableLogOutputChecksumValidationSkipped = true
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	}), nil
}

// VersioningReader is the S3 call CheckVersioning needs; *s3.Client satisfies it.
type VersioningReader interface {
	GetBucketVersioning(ctx context.Context, in *s3.GetBucketVersioningInput, opts ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
}

// CheckVersioning refuses a state bucket whose versioning is off. Versioning is the net
// under the pipeline's own backups: every state Terraform writes stays recoverable, even one
// written by hand outside the pipeline. The backend settings cannot say it (it is a property
// of the bucket), so it is read from the bucket before an apply.
func CheckVersioning(ctx context.Context, s VersioningReader, env environment.Name, bucket string) error {
	out, err := s.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	if err != nil {
		return fmt.Errorf("state bucket %s of %s: read its versioning: %w", bucket, env, err)
	}
	if out.Status == types.BucketVersioningStatusEnabled {
		return nil
	}
	status := "never enabled"
	if out.Status != "" {
		status = string(out.Status)
	}
	return fmt.Errorf("state bucket %s of %s has versioning %s (want Enabled), so an overwritten state would be lost; "+
		"enable it: aws s3api put-bucket-versioning --bucket %s --versioning-configuration Status=Enabled",
		bucket, env, status, bucket)
}

// Object metadata written with every backup, so a listing says what each one is without
// downloading it.
const (
	metaEnv     = "infrapipe-env"
	metaSerial  = "infrapipe-serial"
	metaLineage = "infrapipe-lineage"
	metaSHA256  = "infrapipe-sha256"
	metaTakenAt = "infrapipe-taken-at"
)

// UploadBackup writes the state bytes under the backend's backup prefix (server-side
// encrypted, like the state itself) and returns the object key.
func UploadBackup(ctx context.Context, store ObjectStore, b environment.Backend, backup Backup, data []byte) (string, error) {
	if err := backup.Verify(data); err != nil {
		return "", err
	}
	key := backup.Key(b.BackupPrefix)
	_, err := store.PutObject(ctx, &s3.PutObjectInput{
		Bucket:               aws.String(b.Bucket),
		Key:                  aws.String(key),
		Body:                 bytes.NewReader(data),
		ContentType:          aws.String("application/json"),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
		Metadata: map[string]string{
			metaEnv:     string(backup.Env),
			metaSerial:  strconv.FormatUint(backup.Serial, 10),
			metaLineage: backup.Lineage,
			metaSHA256:  backup.SHA256,
			metaTakenAt: backup.TakenAt.Format(time.RFC3339),
		},
	})
	if err != nil {
		return "", fmt.Errorf("upload backup of %s to s3://%s/%s: %w", backup.Env, b.Bucket, key, err)
	}
	return key, nil
}

// DownloadBackup fetches one backup by key and checks it: a valid state whose checksum
// matches the one recorded in the object's metadata and in its name.
func DownloadBackup(ctx context.Context, store ObjectStore, env environment.Name, bucket, key string) (Backup, []byte, error) {
	out, err := store.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var noKey *types.NoSuchKey
	if errors.As(err, &noKey) {
		return Backup{}, nil, fmt.Errorf("no backup s3://%s/%s: dagger call backups --env=%s lists the backups there are", bucket, key, env)
	}
	if err != nil {
		return Backup{}, nil, fmt.Errorf("download backup s3://%s/%s: %w", bucket, key, statebucket.Check(err, bucket))
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return Backup{}, nil, fmt.Errorf("read backup s3://%s/%s: %w", bucket, key, err)
	}
	takenAt, _, sha8, nameErr := ParseBackupName(key)
	if nameErr != nil {
		takenAt = aws.ToTime(out.LastModified)
	}
	backup, err := NewBackup(env, data, takenAt)
	if err != nil {
		return Backup{}, nil, fmt.Errorf("backup s3://%s/%s: %w", bucket, key, err)
	}
	if recorded := out.Metadata[metaSHA256]; recorded != "" && recorded != backup.SHA256 {
		return Backup{}, nil, fmt.Errorf("backup s3://%s/%s is corrupt: recorded sha256 %s, content has %s", bucket, key, recorded, backup.SHA256)
	}
	if nameErr == nil && !strings.HasPrefix(backup.SHA256, sha8) {
		return Backup{}, nil, fmt.Errorf("backup s3://%s/%s is corrupt: name says sha256 %s…, content has %s", bucket, key, sha8, backup.SHA256)
	}
	if recordedEnv := out.Metadata[metaEnv]; recordedEnv != "" && recordedEnv != string(env) {
		return Backup{}, nil, fmt.Errorf("backup s3://%s/%s was taken from %s, not %s", bucket, key, recordedEnv, env)
	}
	return backup, data, nil
}

// ListBackups returns the keys in the backend's backup folder, newest first.
func ListBackups(ctx context.Context, store ObjectStore, env environment.Name, b environment.Backend) ([]string, error) {
	prefix := backupFolder(env, b.BackupPrefix)
	var keys []string
	var token *string
	for {
		out, err := store.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: aws.String(b.Bucket), Prefix: aws.String(prefix), ContinuationToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list backups s3://%s/%s: %w", b.Bucket, prefix, statebucket.Check(err, b.Bucket))
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		token = out.NextContinuationToken
	}
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	return keys, nil
}

// TakeBackup checks and checksums `terraform state pull` output and uploads it under the
// backend's backup prefix, before anything changes. An empty key and no error mean the
// environment has no state yet: nothing to keep, nothing to lose.
func TakeBackup(ctx context.Context, store ObjectStore, env environment.Name, b environment.Backend, pulled []byte, now time.Time) (Backup, string, error) {
	backup, err := NewBackup(env, pulled, now)
	if errors.Is(err, ErrNoState) {
		return Backup{}, "", nil
	}
	if err != nil {
		return Backup{}, "", err
	}
	key, err := UploadBackup(ctx, store, b, backup, pulled)
	if err != nil {
		return Backup{}, "", err
	}
	return backup, key, nil
}

// BackupListing is the environment's backup keys, newest first, one a line: the keys
// restore-state --from takes; or a line saying there are none yet.
func BackupListing(ctx context.Context, store ObjectStore, env environment.Name, b environment.Backend) (string, error) {
	if err := ValidateBackend(env, b); err != nil {
		return "", err
	}
	keys, err := ListBackups(ctx, store, env, b)
	if err != nil {
		return "", err
	}
	if len(keys) == 0 {
		return fmt.Sprintf("no backups of %s yet\n", env), nil
	}
	return strings.Join(keys, "\n") + "\n", nil
}

// isBackupKey reports whether key names an object directly in the backup folder.
func isBackupKey(folder, key string) bool {
	name, ok := strings.CutPrefix(key, folder)
	return ok && name != "" && !strings.Contains(name, "/")
}

// LoadBackup reads the backup restore-state --from names: an object key, or "latest" for
// the newest under the backend's backup prefix. It is checked against its recorded checksum
// and environment (DownloadBackup) before anyone compares or pushes it. key is the backup's
// object key, "latest" resolved: the --confirm line names it, so that a backup taken in
// between cannot change what the reviewer compared.
func LoadBackup(ctx context.Context, store ObjectStore, env environment.Name, b environment.Backend, from string) (key string, data []byte, err error) {
	if err := ValidateBackend(env, b); err != nil {
		return "", nil, err
	}
	key = from
	if folder := backupFolder(env, b.BackupPrefix); from != "latest" && !isBackupKey(folder, from) {
		return "", nil, fmt.Errorf("--from %s is not one of this stack's %s backups (another stack's, or another environment's, are refused): give \"latest\" or a key under s3://%s/%s (dagger call backups --env=%s lists them)",
			untrusted.QuoteN(from, 256), env, b.Bucket, folder, env)
	}
	if from == "latest" {
		keys, err := ListBackups(ctx, store, env, b)
		if err != nil {
			return "", nil, err
		}
		if len(keys) == 0 {
			return "", nil, fmt.Errorf("--from=latest: %s has no backups under its backup prefix", env)
		}
		key = keys[0]
	}
	_, data, err = DownloadBackup(ctx, store, env, b.Bucket, key)
	return key, data, err
}
