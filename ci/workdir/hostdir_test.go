package workdir_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	t       testing.TB
	dir     string // the Terraform directory, initialized
	out     string
	secrets string // a private directory for WithSecret
	env     []string
	name    environment.Name
	profile environment.Profile
}

var _ workdir.Dir[*hostDir] = (*hostDir)(nil)

func (h *hostDir) Out() string { return h.out }

func (h *hostDir) Run(ctx context.Context, step string, args []string) (*hostDir, error) {
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
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, name), []byte(contents), 0o644); err != nil {
		h.t.Fatalf("write %s: %v", name, err)
	}
	return h
}

func (h *hostDir) WithSecret(name string, data []byte) (*hostDir, string) {
	h.t.Helper()
	p := filepath.Join(h.secrets, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		h.t.Fatalf("write the secret %s: %v", name, err)
	}
	return h, p
}

// terraform runs terraform in the directory outside the sequences under test (state list,
// state pull), failing the test when it fails.
func (h *hostDir) terraform(args ...string) string {
	h.t.Helper()
	cmd := exec.Command("terraform", args...)
	cmd.Dir, cmd.Env = h.dir, h.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// stateList is `terraform state list`, one address an entry.
func (h *hostDir) stateList() []string {
	h.t.Helper()
	return strings.Fields(h.terraform("state", "list"))
}

// snapshot is the state the backend holds now; a zero Snapshot when there is none.
func (h *hostDir) snapshot() state.Snapshot {
	h.t.Helper()
	pulled := h.terraform("state", "pull")
	if strings.TrimSpace(pulled) == "" {
		return state.Snapshot{}
	}
	s, err := state.ReadState([]byte(pulled))
	if err != nil {
		h.t.Fatalf("read the pulled state: %v", err)
	}
	return s
}

// setVars replaces the profile's variables file.
func (h *hostDir) setVars(vars string) { h.WithFile(h.profile.VarFile, vars) }

// backendFixture is one environment's S3 backend on a real moto_server: a versioned state
// bucket and a DynamoDB lock table (locking that works on every Terraform .ci/tools.sh may
// provide), as state.PrepareEmulator makes them.
type backendFixture struct {
	t       testing.TB
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
	if err := state.PrepareEmulator(ctx, backend.Region, moto.URL, backend); err != nil {
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
		t: t, moto: moto, s3: client, tfEnv: tfEnv, backend: backend,
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
// on the fixture's backend at key ("" for the profile's).
func (f *backendFixture) workdir(key string, files map[string]string) *hostDir {
	f.t.Helper()
	dir := f.t.TempDir()
	backend := f.backend
	if key != "" {
		backend.Key = key
	}
	files["backend.tfbackend"] = state.TFBackend(backend, state.Endpoints{S3: f.moto.URL, STS: f.moto.URL, DynamoDB: f.moto.URL})
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	secrets, err := os.MkdirTemp(f.t.TempDir(), "secrets-")
	if err != nil {
		f.t.Fatal(err)
	}
	h := &hostDir{t: f.t, dir: dir, out: f.t.TempDir(), secrets: secrets, env: f.tfEnv, name: f.env.Name, profile: f.env.Profile}
	args, err := state.InitArgs(f.env.Name, backend, "backend.tfbackend")
	if err != nil {
		f.t.Fatal(err)
	}
	h.terraform(args...)
	return h
}

// dataDir is a working directory of dataTF with v set.
func (f *backendFixture) dataDir(key, vars string) *hostDir {
	f.t.Helper()
	return f.workdir(key, map[string]string{"main.tf": dataTF, f.env.Profile.VarFile: vars})
}

// apply plans and applies what the directory holds now, through the sequences under test.
func (f *backendFixture) apply(d *hostDir) workdir.Applied[*hostDir] {
	f.t.Helper()
	ctx := context.Background()
	p, err := workdir.Plan(ctx, d, f.env, true)
	if err != nil {
		f.t.Fatal(err)
	}
	a, err := workdir.Apply(ctx, f.env, p, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// backups lists the environment's backup keys, newest first.
func (f *backendFixture) backups() []string {
	f.t.Helper()
	keys, err := state.ListBackups(context.Background(), f.s3, f.env.Name, f.backend)
	if err != nil {
		f.t.Fatal(err)
	}
	return keys
}

// setVersioning turns the state bucket's versioning on or suspends it.
func (f *backendFixture) setVersioning(status string) {
	f.t.Helper()
	_, err := f.s3.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(f.backend.Bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatus(status)},
	})
	if err != nil {
		f.t.Fatal(err)
	}
}
