package workdir_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/state"
	"github.com/infrapipe/infrapipe/ci/workdir"
)

// hostDir is workdir.Dir on a host directory with the real terraform: what the Dagger
// module does on a container, with the same failure wording (pipeline.StepFailed). It is
// mutable: every method returns the directory itself.
type hostDir struct {
	dir     string // the Terraform directory, initialized
	out     string
	secrets string // a private directory for WithSecret
	env     []string
	name    environment.Name
	profile environment.Profile
	// err is a failed WithFile or WithSecret, which have no error to return: the next Run
	// returns it, as a container's would fail at its next exec.
	err error
}

var _ workdir.Dir[*hostDir] = (*hostDir)(nil)

func (h *hostDir) Out() string { return h.out }

func (h *hostDir) Run(ctx context.Context, step string, args []string) (*hostDir, error) {
	if h.err != nil {
		return h, fmt.Errorf("%s (%s): %w", step, h.name, h.err)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir, cmd.Env = h.dir, h.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return h, pipeline.StepFailed(step, h.name, exit.ExitCode(), out.String(), h.profile.LockTimeout, time.Now())
	}
	if err != nil {
		return h, fmt.Errorf("%s (%s): %w", step, h.name, err)
	}
	return h, nil
}

func (h *hostDir) Read(_ context.Context, name string) (string, error) {
	data, err := os.ReadFile(filepath.Join(h.out, name))
	return string(data), err
}

func (h *hostDir) WithFile(name, contents string) *hostDir {
	if err := os.WriteFile(filepath.Join(h.dir, name), []byte(contents), 0o644); err != nil && h.err == nil {
		h.err = err
	}
	return h
}

func (h *hostDir) WithSecret(name string, data []byte) (*hostDir, string) {
	p := filepath.Join(h.secrets, name)
	if err := os.WriteFile(p, data, 0o600); err != nil && h.err == nil {
		h.err = err
	}
	return h, p
}

// terraform runs terraform in the directory outside the sequences under test (state list,
// state pull), failing the test when it fails.
func (h *hostDir) terraform(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("terraform", args...)
	cmd.Dir, cmd.Env = h.dir, h.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// stateList is the addresses in the state the backend holds now, sorted; none when
// there is no state yet (where `terraform state list` fails).
func (h *hostDir) stateList(t testing.TB) []string {
	t.Helper()
	return h.snapshot(t).Addresses
}

// snapshot is the state the backend holds now; a zero Snapshot when there is none.
func (h *hostDir) snapshot(t testing.TB) state.Snapshot {
	t.Helper()
	s, err := state.ReadState([]byte(h.terraform(t, "state", "pull")))
	if errors.Is(err, state.ErrNoState) {
		return state.Snapshot{}
	}
	if err != nil {
		t.Fatalf("read the pulled state: %v", err)
	}
	return s
}

// setVars replaces the profile's variables file.
func (h *hostDir) setVars(t testing.TB, vars string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, h.profile.VarFile), []byte(vars), 0o644); err != nil {
		t.Fatal(err)
	}
}

// backendFixture is one environment's S3 backend on a real moto_server: a versioned state
// bucket and a DynamoDB lock table (locking that works on every Terraform .ci/tools.sh may
// provide), as state.PrepareEmulator makes them.
type backendFixture struct {
	moto    *mototest.Server
	env     workdir.Env
	s3      *s3.Client
	tfEnv   []string
	backend environment.Backend
}

// newBackend starts moto and prepares name's backend. The profile is name's default with
// that backend, env.tfvars as its variables file and a short lock timeout (a held lock
// fails in seconds, not minutes).
func newBackend(t *testing.T, name environment.Name) *backendFixture {
	t.Helper()
	terraform := tftest.Binary(t)
	moto := mototest.Start(t)
	moto.Setenv(t)
	backend := environment.Backend{
		Bucket: "infrapipe-workdir-" + string(name), Key: string(name) + "/terraform.tfstate", Region: "us-east-1",
		DynamoDBTable: "infrapipe-workdir-locks", BackupPrefix: "backups/" + string(name) + "/",
	}
	ctx := context.Background()
	if err := state.PrepareEmulator(ctx, moto.URL, backend); err != nil {
		t.Fatal(err)
	}
	client, err := state.NewS3Client(ctx, backend.Region, moto.URL)
	if err != nil {
		t.Fatal(err)
	}
	profile, err := environment.Default(name)
	if err != nil {
		t.Fatal(err)
	}
	profile.Backend, profile.VarFile, profile.LockTimeout = backend, "env.tfvars", 2*time.Second
	cliConfig := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(cliConfig, []byte("disable_checkpoint = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tfEnv := append(os.Environ(), "AWS_ENDPOINT_URL="+moto.URL, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1",
		"TF_CLI_CONFIG_FILE="+cliConfig, "PATH="+filepath.Dir(terraform)+string(os.PathListSeparator)+os.Getenv("PATH"))
	return &backendFixture{
		moto: moto, s3: client, tfEnv: tfEnv, backend: backend,
		env: workdir.Env{
			Name: name, Profile: profile,
			PlanArgs: append(state.LockArgs(profile), "-var-file="+profile.VarFile),
			Bucket:   func(context.Context) (*s3.Client, error) { return client, nil },
		},
	}
}

// dataTF is a configuration of built-in terraform_data resources (no provider to
// install): x is replaced when v changes, y exists when extra is true.
const dataTF = `terraform {
  backend "s3" {}
}
variable "v" {
  type = string
}
variable "extra" {
  type    = bool
  default = false
}
resource "terraform_data" "x" {
  input            = var.v
  triggers_replace = var.v
}
resource "terraform_data" "y" {
  count = var.extra ? 1 : 0
  input = "y"
}
`

// workdir writes files and the backend file into a fresh directory and runs terraform init
// on the fixture's backend at key ("" for the profile's); env are more variables for every
// command (KEY=VALUE, overriding the fixture's).
func (f *backendFixture) workdir(t testing.TB, key string, files map[string]string, env ...string) *hostDir {
	t.Helper()
	dir := t.TempDir()
	backend := f.backend
	if key != "" {
		backend.Key = key
	}
	files["backend.tfbackend"] = state.TFBackend(backend, state.Endpoints{S3: f.moto.URL, STS: f.moto.URL, DynamoDB: f.moto.URL})
	tftest.WriteFiles(t, dir, files)
	secrets, err := os.MkdirTemp(t.TempDir(), "secrets-")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostDir{dir: dir, out: t.TempDir(), secrets: secrets, env: append(slices.Clip(f.tfEnv), env...), name: f.env.Name, profile: f.env.Profile}
	args, err := state.InitArgs(f.env.Name, backend, "backend.tfbackend")
	if err != nil {
		t.Fatal(err)
	}
	h.terraform(t, args...)
	return h
}

// realAWS is the provider block and the environment that install the real hashicorp/aws
// provider from its filesystem mirror (the test skips when there is none), pointed at the
// fixture's moto for S3 and STS: files for workdir, env for its Terraform.
func (f *backendFixture) realAWS(t *testing.T) (provider string, env []string) {
	t.Helper()
	w := tftest.New(t, nil)
	w.UseRealAWSProviderOn(f.moto.URL, "s3", "sts")
	data, err := os.ReadFile(filepath.Join(w.Dir, "provider.tf"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data), w.Env
}

// dataDir is a working directory of dataTF with v set.
func (f *backendFixture) dataDir(t testing.TB, key, vars string) *hostDir {
	t.Helper()
	return f.workdir(t, key, map[string]string{"main.tf": dataTF, f.env.Profile.VarFile: vars})
}

// apply plans and applies what the directory holds now, through the sequences under test.
func (f *backendFixture) apply(t testing.TB, d *hostDir) workdir.Applied[*hostDir] {
	t.Helper()
	ctx := context.Background()
	p, err := workdir.Plan(ctx, d, f.env, true)
	if err != nil {
		t.Fatal(err)
	}
	a, err := workdir.Apply(ctx, f.env, p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// backups lists the environment's backup keys, newest first.
func (f *backendFixture) backups(t testing.TB) []string {
	t.Helper()
	keys, err := state.ListBackups(context.Background(), f.s3, f.env.Name, f.backend)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// setVersioning turns the state bucket's versioning on or suspends it.
func (f *backendFixture) setVersioning(t testing.TB, status string) {
	t.Helper()
	_, err := f.s3.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(f.backend.Bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatus(status)},
	})
	if err != nil {
		t.Fatal(err)
	}
}
