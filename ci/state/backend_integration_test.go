package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// stateBucket is a real S3 backend on moto_server: a versioned bucket, one environment's
// backend settings pointing into it, and an SDK client for what tests check out of band.
type stateBucket struct {
	moto    *mototest.Server
	s3      *s3.Client
	env     environment.Name
	backend environment.Backend
	ep      Endpoints
	dynamo  *dynamodb.Client // set when the backend locks with a DynamoDB table
}

func newStateBucket(t *testing.T, env environment.Name) *stateBucket {
	t.Helper()
	return newStateBucketLocking(t, env, "")
}

// newStateBucketLocking locks with the DynamoDB table lockTable instead of the S3 lock file
// when lockTable is set, creating the table as the backend expects it (hash key LockID).
func newStateBucketLocking(t *testing.T, env environment.Name, lockTable string) *stateBucket {
	t.Helper()
	if lockTable == "" && !lockfileSupported(t) {
		// tftest builds Terraform 1.8.5 where no newer one is installed; it has no
		// use_lockfile, so the same tests lock through DynamoDB there.
		t.Logf("terraform older than 1.10: locking with a DynamoDB table instead of the S3 lock file")
		lockTable = "terraform-locks"
	}
	moto, client := motoS3(t)
	ctx := context.Background()
	sb := &stateBucket{
		moto: moto, s3: client, env: env,
		backend: environment.Backend{
			Bucket: "infrapipe-tfstate", Key: "shop/" + string(env) + "/terraform.tfstate", Region: "us-east-1",
			UseLockfile: true, BackupPrefix: "backups/" + string(env) + "/",
		},
		ep: Endpoints{S3: moto.URL, STS: moto.URL, DynamoDB: moto.URL},
	}
	if lockTable != "" {
		sb.backend.UseLockfile, sb.backend.DynamoDBTable = false, lockTable
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
		if err != nil {
			t.Fatal(err)
		}
		sb.dynamo = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(moto.URL) })
		if _, err := sb.dynamo.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(lockTable),
			BillingMode:          dbtypes.BillingModePayPerRequest,
			KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("LockID"), KeyType: dbtypes.KeyTypeHash}},
			AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("LockID"), AttributeType: dbtypes.ScalarAttributeTypeS}},
		}); err != nil {
			t.Fatalf("create lock table: %v", err)
		}
	}
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(sb.backend.Bucket)}); err != nil {
		t.Fatalf("create state bucket: %v", err)
	}
	if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(sb.backend.Bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatalf("enable versioning: %v", err)
	}
	return sb
}

// motoS3 starts moto_server, points the AWS_* variables at it (for Terraform and the SDK's
// default chain) and returns the S3 client backups use.
func motoS3(t *testing.T) (*mototest.Server, *s3.Client) {
	t.Helper()
	moto := mototest.Start(t)
	moto.Setenv(t)
	client, err := NewS3Client(context.Background(), "us-east-1", moto.URL)
	if err != nil {
		t.Fatal(err)
	}
	return moto, client
}

var (
	lockfileOnce sync.Once
	lockfileOK   bool
)

// lockfileSupported reports whether the test's Terraform has the S3 backend's use_lockfile
// (1.10 and later).
func lockfileSupported(t *testing.T) bool {
	t.Helper()
	bin := tftest.Binary(t)
	lockfileOnce.Do(func() {
		out, err := exec.Command(bin, "version", "-json").Output()
		if err != nil {
			return
		}
		var v struct {
			Version string `json:"terraform_version"`
		}
		if json.Unmarshal(out, &v) != nil {
			return
		}
		var major, minor int
		if _, err := fmt.Sscanf(v.Version, "%d.%d", &major, &minor); err == nil {
			lockfileOK = major > 1 || major == 1 && minor >= 10
		}
	})
	return lockfileOK
}

// workspace is one CI runner's checkout: its own directory, the same backend. prepare
// (optional) adjusts the workspace before init, e.g. to serve the test provider.
func (sb *stateBucket) workspace(t *testing.T, mainTF string, prepare ...func(*tftest.Workspace)) *tftest.Workspace {
	t.Helper()
	if err := ValidateBackend(sb.env, sb.backend); err != nil {
		t.Fatal(err)
	}
	w := tftest.New(t, map[string]string{
		"main.tf":           "terraform {\n  backend \"s3\" {}\n}\n" + mainTF,
		"backend.tfbackend": TFBackend(sb.backend, sb.ep),
	})
	w.Env = append(w.Env, sb.moto.Env()...)
	for _, p := range prepare {
		p(w)
	}
	args, err := InitArgs(sb.env, sb.backend, "backend.tfbackend")
	if err != nil {
		t.Fatal(err)
	}
	w.Run(args...)
	return w
}

// pull is `terraform state pull`, as the pipeline takes it before an apply.
func pull(t *testing.T, w *tftest.Workspace) ([]byte, Snapshot) {
	t.Helper()
	data := []byte(w.Run("state", "pull"))
	snap, err := ReadState(data)
	if err != nil {
		t.Fatalf("state pull gave no valid state: %v\n%s", err, data)
	}
	return data, snap
}

// lock returns the lock record Terraform wrote (the lock file's JSON, or the DynamoDB item's
// Info attribute) and whether there is one.
func (sb *stateBucket) lock(t *testing.T) (string, bool) {
	t.Helper()
	ctx := context.Background()
	if sb.dynamo != nil {
		out, err := sb.dynamo.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(sb.backend.DynamoDBTable),
			Key:            map[string]dbtypes.AttributeValue{"LockID": &dbtypes.AttributeValueMemberS{Value: sb.backend.Bucket + "/" + sb.backend.Key}},
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			t.Fatalf("read lock item: %v", err)
		}
		info, ok := out.Item["Info"].(*dbtypes.AttributeValueMemberS)
		if !ok {
			return "", false
		}
		return info.Value, true
	}
	out, err := sb.s3.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(sb.backend.Bucket), Key: aws.String(sb.backend.Key + ".tflock"),
	})
	if err != nil {
		var missing *types.NoSuchKey
		if errors.As(err, &missing) {
			return "", false
		}
		t.Fatalf("read lock file: %v", err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read lock file: %v", err)
	}
	return string(data), true
}

func (sb *stateBucket) lockObjectExists(t *testing.T) bool {
	t.Helper()
	_, ok := sb.lock(t)
	return ok
}

// run is a terraform process in the background, in its own process group so a test can
// kill it together with the provisioner's sleep.
type run struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

func start(t *testing.T, w *tftest.Workspace, args ...string) *run {
	t.Helper()
	cmd := exec.Command(w.Bin, args...)
	cmd.Dir = w.Dir
	cmd.Env = append(append(os.Environ(), "TF_INPUT=0"), w.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r := &run{cmd: cmd, out: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start terraform %s: %v", strings.Join(args, " "), err)
	}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
		r.done <- nil
	})
	return r
}

func (r *run) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(2 * time.Minute):
		t.Fatalf("terraform did not finish within 2 minutes:\n%s", r.out)
		return nil
	}
}

// eventually polls cond until it holds; the deadline only turns a hang into a failure.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// slowStack holds the lock while its provisioner sleeps: every change of var.rev replaces
// terraform_data.app, and a create runs "sleep var.sleep".
const slowStack = `
variable "rev" {
  type = string
}
variable "sleep" {
  type    = number
  default = 0
}
resource "terraform_data" "app" {
  triggers_replace = var.rev
  input            = { rev = var.rev }
  provisioner "local-exec" {
    command = "sleep ${var.sleep}"
  }
}
output "rev" {
  value = terraform_data.app.output.rev
}
`

func apply(rev string, sleep int, extra ...string) []string {
	return append([]string{"apply", "-no-color", "-input=false", "-auto-approve",
		"-var=rev=" + rev, fmt.Sprintf("-var=sleep=%d", sleep)}, extra...)
}

func TestConcurrentAppliesOneEnvironment(t *testing.T) {
	for _, tt := range []struct {
		name, lockTable, reason string
	}{
		{"S3 lock file", "", "PreconditionFailed"},
		{"DynamoDB lock table", "terraform-locks", "ConditionalCheckFailedException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.lockTable == "" && !lockfileSupported(t) {
				t.Skip("use_lockfile needs Terraform 1.10 or later; the DynamoDB case covers locking")
			}
			concurrentApplies(t, newStateBucketLocking(t, environment.Staging, tt.lockTable), tt.reason)
		})
	}
}

func concurrentApplies(t *testing.T, sb *stateBucket, reason string) {
	runnerA := sb.workspace(t, slowStack)
	runnerB := sb.workspace(t, slowStack+`
resource "terraform_data" "second" {
  input = "b"
}
`)
	runnerA.Run(apply("1", 0)...)
	_, before := pull(t, runnerA)

	// Runner A holds the lock while its provisioner sleeps.
	a := start(t, runnerA, apply("2", 3)...)
	eventually(t, "runner A to take the lock", func() bool { return sb.lockObjectExists(t) })
	lockFile, _ := sb.lock(t)

	// Runner B does not wait (-lock-timeout=0s) and fails with the lock message.
	stdout, stderr, err := runnerB.Exec(apply("1", 0, "-lock-timeout=0s")...)
	if err == nil {
		t.Fatalf("second apply succeeded while the lock was held:\n%s", stdout)
	}
	info, ok := ParseLockError(stdout + stderr)
	if !ok {
		t.Fatalf("no lock error recognised in:\n%s%s", stdout, stderr)
	}
	if !strings.Contains(lockFile, `"ID":"`+info.ID+`"`) {
		t.Errorf("parsed lock ID %s is not the one in the lock file %s", info.ID, lockFile)
	}
	wantPath := sb.backend.Bucket + "/" + sb.backend.Key
	if info.Path != wantPath || info.Operation != "OperationTypeApply" || info.Version == "" || !strings.Contains(info.Who, "@") ||
		info.Created.IsZero() || info.Reason != reason {
		t.Errorf("lock info = %+v (want path %s, an apply, holder and time)", info, wantPath)
	}
	lockErr := CheckLock(sb.env, stdout+stderr, 0, time.Now())
	if lockErr == nil || !strings.Contains(lockErr.Error(), "terraform force-unlock "+info.ID) {
		t.Errorf("lock error message lacks the force-unlock command: %v", lockErr)
	}

	// Runner B with a lock timeout waits for A instead, then applies on top of A's state.
	b := start(t, runnerB, apply("2", 0, "-lock-timeout=2m")...)
	if err := a.wait(t); err != nil {
		t.Fatalf("runner A failed: %v\n%s", err, a.out)
	}
	if err := b.wait(t); err != nil {
		// When A lets go in the instant between B's attempt and B's read of the lock,
		// Terraform stops instead of waiting on (hashicorp/terraform#32690). CheckLock
		// names that case, and running once more is then safe.
		var released *LockReleasedError
		if !errors.As(CheckLock(sb.env, b.out.String(), 0, time.Now()), &released) {
			t.Fatalf("runner B (waiting) failed: %v\n%s", err, b.out)
		}
		t.Logf("runner B met the lock's release mid-wait: %v", released)
		b = start(t, runnerB, apply("2", 0, "-lock-timeout=2m")...)
		if err := b.wait(t); err != nil {
			t.Fatalf("runner B (rerun) failed: %v\n%s", err, b.out)
		}
	}
	if !strings.Contains(b.out.String(), "Acquiring state lock") {
		t.Errorf("runner B did not go through the lock:\n%s", b.out)
	}

	// The state is intact: same lineage, later serial, both runners' resources, and no
	// lock left behind.
	data, after := pull(t, runnerA)
	if after.Lineage != before.Lineage {
		t.Errorf("lineage changed from %s to %s", before.Lineage, after.Lineage)
	}
	if after.Serial <= before.Serial {
		t.Errorf("serial %d after two applies, was %d", after.Serial, before.Serial)
	}
	if got := strings.Join(after.Addresses, ","); got != "terraform_data.app,terraform_data.second" {
		t.Errorf("resources = %s", got)
	}
	if !strings.Contains(string(data), `"rev": "2"`) {
		t.Errorf("state lacks runner A's change:\n%s", data)
	}
	if sb.lockObjectExists(t) {
		t.Error("lock file left behind after both applies finished")
	}
	runnerB.Run("plan", "-no-color", "-detailed-exitcode", "-var=rev=2") // exit 0: nothing left to do
}

func TestKilledApplyRestoresFromBackup(t *testing.T) {
	sb := newStateBucket(t, environment.Prod)
	w := sb.workspace(t, slowStack)
	w.Run(apply("1", 0)...)
	ctx := context.Background()

	// The pipeline's pre-apply backup: pull, check, checksum, upload.
	data, before := pull(t, w)
	backup, err := NewBackup(sb.env, data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, err := UploadBackup(ctx, sb.s3, sb.backend, backup, data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "backups/prod/") || !strings.HasSuffix(key, fmt.Sprintf("-serial-%d-%s.tfstate", before.Serial, backup.SHA256[:8])) {
		t.Errorf("backup key %s", key)
	}

	// The apply is killed while its provisioner runs: the process group gets SIGKILL, so
	// Terraform cannot release the lock or write a final state.
	r := start(t, w, apply("2", 30)...)
	eventually(t, "the provisioner to start", func() bool {
		return strings.Contains(r.out.String(), "Provisioning with 'local-exec'")
	})
	if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(t); err == nil {
		t.Fatal("killed apply reported success")
	}

	// The next run meets the dead run's lock and names the command that releases it.
	stdout, stderr, err := w.Exec("plan", "-no-color", "-input=false", "-var=rev=1", "-lock-timeout=0s")
	if err == nil {
		t.Fatalf("plan ran although the killed apply's lock is left:\n%s", stdout)
	}
	var lockErr *LockError
	if !errors.As(CheckLock(sb.env, stdout+stderr, 0, time.Now()), &lockErr) {
		t.Fatalf("no lock error in:\n%s%s", stdout, stderr)
	}
	w.Run("force-unlock", "-force", lockErr.Lock.ID)

	// Restore: fetch the backup by key, check it, compare with what is there now, push.
	got, backupData, err := DownloadBackup(ctx, sb.s3, sb.env, sb.backend.Bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.SHA256 != backup.SHA256 || got.Serial != before.Serial {
		t.Errorf("downloaded backup %+v, uploaded %+v", got, backup)
	}
	keys, err := ListBackups(ctx, sb.s3, sb.env, sb.backend)
	if err != nil || len(keys) != 1 || keys[0] != key {
		t.Errorf("ListBackups = %q, %v; want [%s]", keys, err, key)
	}
	current, currentSnap := pull(t, w)
	t.Logf("state after the kill: serial %d (backup %d), resources %q", currentSnap.Serial, before.Serial, currentSnap.Addresses)
	restore, err := PrepareRestore(sb.env, "", current, backupData)
	if err != nil {
		t.Fatal(err)
	}
	if restore.PushSerial <= currentSnap.Serial {
		t.Errorf("push serial %d is not above current %d", restore.PushSerial, currentSnap.Serial)
	}
	w.Write("restore.tfstate", string(restore.State))
	w.Run(PushArgs("restore.tfstate")...)

	restored, after := pull(t, w)
	// Terraform may add one to the serial when it writes the pushed state.
	if after.Lineage != before.Lineage || after.Serial < restore.PushSerial {
		t.Errorf("after restore: lineage %s serial %d; want %s, serial >= %d", after.Lineage, after.Serial, before.Lineage, restore.PushSerial)
	}
	if strings.Join(after.Addresses, ",") != strings.Join(before.Addresses, ",") {
		t.Errorf("resources after restore %q, before apply %q", after.Addresses, before.Addresses)
	}
	if !bytes.Equal(withoutSerial(t, restored), withoutSerial(t, data)) {
		t.Errorf("restored state differs from the pre-apply state beyond the serial:\n%s\n---\n%s", restored, data)
	}
	// With the pre-apply state back, Terraform sees nothing to do for the old revision.
	w.Run("plan", "-no-color", "-detailed-exitcode", "-var=rev=1")
}

// withoutSerial drops the serial line so two states can be compared on everything else.
func withoutSerial(t *testing.T, data []byte) []byte {
	t.Helper()
	out, err := setSerial(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRollbackToBackup(t *testing.T) {
	sb := newStateBucket(t, environment.Staging)
	w := sb.workspace(t, slowStack)
	w.Run(apply("1", 0)...)
	data, before := pull(t, w)

	// A later apply adds a resource and changes another.
	w.Write("extra.tf", "resource \"terraform_data\" \"cache\" {\n  input = \"redis\"\n}\n")
	w.Run(apply("2", 0)...)
	current, now := pull(t, w)

	restore, err := PrepareRestore(sb.env, "", current, data)
	if err != nil {
		t.Fatal(err)
	}
	if restore.SerialDelta >= 0 || restore.PushSerial != now.Serial+1 {
		t.Errorf("serial delta %d push %d (current %d)", restore.SerialDelta, restore.PushSerial, now.Serial)
	}
	if strings.Join(restore.Dropped, ",") != "terraform_data.cache" {
		t.Errorf("dropped = %q", restore.Dropped)
	}

	// Terraform itself refuses the untouched backup: its serial is behind.
	w.Write("as-is.tfstate", string(data))
	if _, stderr, err := w.Exec("state", "push", "as-is.tfstate"); err == nil || !strings.Contains(stderr, "cannot import state with serial") {
		t.Fatalf("push of the old serial: err %v, %s", err, stderr)
	}
	w.Write("restore.tfstate", string(restore.State))
	w.Run(PushArgs("restore.tfstate")...)
	_, after := pull(t, w)
	if after.Serial < restore.PushSerial || after.Lineage != before.Lineage ||
		strings.Join(after.Addresses, ",") != strings.Join(before.Addresses, ",") {
		t.Errorf("after rollback %+v, want resources of %+v", after, before)
	}
}

func TestRestoreForeignLineageRefused(t *testing.T) {
	sb := newStateBucket(t, environment.Prod)
	prod := sb.workspace(t, slowStack)
	prod.Run(apply("1", 0)...)
	prodData, prodSnap := pull(t, prod)

	// Staging's state in the same bucket is another lineage.
	staging := *sb
	staging.env = environment.Staging
	staging.backend.Key = "shop/staging/terraform.tfstate"
	staging.backend.BackupPrefix = "backups/staging/"
	sw := staging.workspace(t, slowStack)
	sw.Run(apply("1", 0)...)
	stagingData, stagingSnap := pull(t, sw)

	_, err := PrepareRestore(environment.Prod, "", prodData, stagingData)
	var le *LineageError
	if !errors.As(err, &le) {
		t.Fatalf("restore of staging's state into prod: err = %v, want a lineage refusal", err)
	}
	if le.BackupLineage != stagingSnap.Lineage || le.CurrentLineage != prodSnap.Lineage ||
		!strings.Contains(err.Error(), stagingSnap.Lineage) || !strings.Contains(err.Error(), prodSnap.Lineage) {
		t.Errorf("error does not name both lineages: %v", err)
	}

	// A backup uploaded for staging is not accepted as prod's either.
	b, err := NewBackup(environment.Staging, stagingData, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, err := UploadBackup(context.Background(), sb.s3, staging.backend, b, stagingData)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := DownloadBackup(context.Background(), sb.s3, environment.Prod, sb.backend.Bucket, key); err == nil ||
		!strings.Contains(err.Error(), "was taken from staging, not prod") {
		t.Errorf("download of staging's backup as prod: %v", err)
	}

	// Prod's state is untouched.
	_, after := pull(t, prod)
	if after.Serial != prodSnap.Serial || after.Lineage != prodSnap.Lineage {
		t.Errorf("prod state changed: %+v, was %+v", after, prodSnap)
	}
}

// TestTFBackendInitRealBackend: InitArgs with the TFBackend file, as the pipeline runs
// them, put the state at the environment's key.
func TestTFBackendInitRealBackend(t *testing.T) {
	sb := newStateBucket(t, environment.Test)
	w := sb.workspace(t, slowStack)
	w.Run(apply("1", 0)...)
	if _, snap := pull(t, w); strings.Join(snap.Addresses, ",") != "terraform_data.app" {
		t.Errorf("resources = %q", snap.Addresses)
	}
	if _, err := sb.s3.HeadObject(context.Background(), &s3.HeadObjectInput{
		Bucket: aws.String(sb.backend.Bucket), Key: aws.String(sb.backend.Key),
	}); err != nil {
		t.Errorf("state object not at %s: %v", sb.backend.Key, err)
	}
}

// TestListBackupsStaysInItsPrefix: a backup_prefix written without its trailing slash still
// lists only the folder UploadBackup writes to, not a sibling that shares the prefix.
func TestListBackupsStaysInItsPrefix(t *testing.T) {
	_, client := motoS3(t)
	ctx := context.Background()
	b := environment.Backend{Bucket: "infrapipe-tfstate", BackupPrefix: "backups/test"}
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.Bucket)}); err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"version":4,"serial":3,"lineage":"l-1","resources":[]}`)
	backup, err := NewBackup(environment.Test, data, time.Date(2026, 11, 27, 0, 50, 39, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	key, err := UploadBackup(ctx, client, b, backup, data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(b.Bucket), Key: aws.String("backups/test-old/" + backup.FileName()), Body: bytes.NewReader(data),
	}); err != nil {
		t.Fatal(err)
	}
	keys, err := ListBackups(ctx, client, environment.Test, b)
	if err != nil || len(keys) != 1 || keys[0] != key {
		t.Errorf("ListBackups = %q, %v; want [%s]", keys, err, key)
	}
}

// A fresh S3 backend holds no state object, and Terraform 1.11's `terraform state pull`
// prints an empty state for it (serial 0, no lineage), not nothing. The first staging or
// prod apply backs that up, and restore may push onto it: both must see "no state yet".
func TestFreshBackendPullsAsNoState(t *testing.T) {
	sb := newStateBucket(t, environment.Prod)
	w := sb.workspace(t, `resource "terraform_data" "a" {}`)
	data := []byte(w.Run("state", "pull"))
	t.Logf("state pull on a fresh backend printed %d bytes", len(data))

	if _, err := ReadState(data); !errors.Is(err, ErrNoState) {
		t.Fatalf("ReadState of a fresh backend's pull = %v, want ErrNoState\n%s", err, data)
	}
	if _, err := NewBackup(environment.Prod, data, time.Now()); !errors.Is(err, ErrNoState) {
		t.Errorf("NewBackup of a fresh backend's pull = %v, want ErrNoState", err)
	}

	// A backup (here of a local state applied elsewhere) restores onto the empty one as it is.
	other := tftest.New(t, map[string]string{"main.tf": `resource "terraform_data" "a" {}`})
	other.Init()
	other.Apply()
	backup, snap := pull(t, other)
	r, err := PrepareRestore(environment.Prod, "", data, backup)
	if err != nil {
		t.Fatalf("restore onto a fresh backend: %v", err)
	}
	if r.Current != nil || r.PushSerial != snap.Serial || !bytes.Equal(r.State, backup) {
		t.Errorf("restore onto a fresh backend: current %v, push serial %d (want %d), state changed: %v",
			r.Current, r.PushSerial, snap.Serial, !bytes.Equal(r.State, backup))
	}
	w.Run("state", "push", writeTemp(t, r.State))
	// Terraform gives a state pushed onto an empty backend a lineage of its own (with or
	// without -force); the resources are what must come back.
	if _, got := pull(t, w); !slices.Equal(got.Addresses, snap.Addresses) {
		t.Errorf("after the push the backend holds %v, want %v", got.Addresses, snap.Addresses)
	}
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	f := t.TempDir() + "/restore.tfstate"
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// Terraform's own record of the backend init set up decides: a configuration without a
// backend block initialises the local backend with only a warning, and its apply loses the
// state.
func TestCheckInitializedBackend(t *testing.T) {
	sb := newStateBucket(t, environment.Staging)
	for _, tt := range []struct {
		name, terraform string
		want            string // part of the error; "" for none
	}{
		{"s3 backend", `terraform {
  backend "s3" {}
}`, ""},
		{"no backend", ``, "declares no backend"},
		{"key in the block", `terraform {
  backend "s3" {
    key = "elsewhere/terraform.tfstate"
  }
}`, ""}, // -backend-config from pipeline.yaml wins over the block's own key
	} {
		// (A backend "local" block never gets this far: init itself rejects the S3 settings.)
		t.Run(tt.name, func(t *testing.T) {
			w := tftest.New(t, map[string]string{
				"main.tf":           tt.terraform + "\nresource \"terraform_data\" \"a\" {}\n",
				"backend.tfbackend": TFBackend(sb.backend, sb.ep),
			})
			w.Env = append(w.Env, sb.moto.Env()...)
			args, err := InitArgs(sb.env, sb.backend, "backend.tfbackend")
			if err != nil {
				t.Fatal(err)
			}
			w.Run(args...)
			data, err := os.ReadFile(w.Dir + "/.terraform/terraform.tfstate")
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			err = CheckInitializedBackend(sb.env, data)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one saying %q", err, tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), `backend "s3" {}`):
				t.Errorf("error %q does not say how to fix it", err)
			}
		})
	}
}

// PrepareInit's init, its backend file written where its arguments say, sets up the
// environment's S3 backend on a real Terraform, which CheckInitializedBackend accepts; each
// check before it refuses with nothing to init.
func TestPrepareInit(t *testing.T) {
	sb := newStateBucket(t, environment.Staging)
	main := "terraform {\n  backend \"s3\" {}\n}\nresource \"terraform_data\" \"a\" {}\n"
	w := tftest.New(t, map[string]string{"main.tf": main})
	w.Env = append(w.Env, sb.moto.Env()...)
	code := map[string][]byte{"main.tf": []byte(main)}
	init, err := PrepareInit(sb.env, sb.backend, code, tftest.Reader(w.Dir), ".", "backend.tfbackend", sb.ep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.Dir+"/backend.tfbackend", []byte(init.Backend), 0o600); err != nil {
		t.Fatal(err)
	}
	w.Run(init.Args...)
	data, err := os.ReadFile(w.Dir + "/.terraform/terraform.tfstate")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckInitializedBackend(sb.env, data); err != nil {
		t.Errorf("the backend PrepareInit set up: %v", err)
	}

	elsewhere := "terraform {\n  backend \"s3\" {\n    key = \"legacy/terraform.tfstate\"\n  }\n}\n"
	legacyFile := "bucket = \"" + sb.backend.Bucket + "\"\nkey = \"legacy/staging.tfstate\"\nregion = \"" + sb.backend.Region + "\"\n"
	for _, tt := range []struct {
		name  string
		code  string
		files map[string]string
		b     environment.Backend
		want  string
	}{
		{"a block with another key", elsewhere, nil, sb.backend, `legacy/terraform.tfstate`},
		{"a backend file with another key", main, map[string]string{"environments/staging.s3.tfbackend": legacyFile}, sb.backend, "legacy/staging.tfstate"},
		{"no bucket in pipeline.yaml", main, nil, environment.Backend{Key: "k", Region: "us-east-1"}, "bucket"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tftest.WriteFiles(t, dir, tt.files)
			got, err := PrepareInit(sb.env, tt.b, map[string][]byte{"main.tf": []byte(tt.code)}, tftest.Reader(dir), ".", "backend.tfbackend", sb.ep)
			if err == nil || !strings.Contains(err.Error(), tt.want) || got.Args != nil {
				t.Errorf("PrepareInit = %+v, %v; want no init and an error naming %q", got, err, tt.want)
			}
		})
	}
}
