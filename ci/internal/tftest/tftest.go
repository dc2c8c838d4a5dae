// Package tftest runs the real Terraform CLI in temporary working directories for tests.
// When no terraform is on PATH it builds one (see DEVELOPERS.md) rather than skipping.
package tftest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fallbackVersion is the newest Terraform that `go install` builds from the module proxy.
const fallbackVersion = "v1.8.5"

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// Binary returns the terraform executable: the one on PATH, or one built once into the
// tool cache that .ci/tools.sh uses.
func Binary(t testing.TB) string {
	t.Helper()
	binaryOnce.Do(func() { binaryPath, binaryErr = findOrBuild() })
	if binaryErr != nil {
		t.Fatalf("terraform: %v", binaryErr)
	}
	return binaryPath
}

func findOrBuild() (string, error) {
	if p, err := exec.LookPath("terraform"); err == nil {
		return p, nil
	}
	dir := os.Getenv("TOOLS_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no terraform on PATH and no cache directory: %w", err)
		}
		dir = filepath.Join(cache, "infrapipe-tools")
	}
	dir = filepath.Join(dir, "terraform-"+fallbackVersion)
	bin := filepath.Join(dir, "terraform")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "terraform-build-")
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", err
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), "terraform-build-"); err != nil {
			return "", err
		}
	}
	cmd := exec.Command("go", "install", "-ldflags=-X=github.com/hashicorp/terraform/version.dev=no",
		"github.com/hashicorp/terraform@"+fallbackVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install terraform %s: %v\n%s", fallbackVersion, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(bin); statErr != nil {
			return "", fmt.Errorf("install terraform into %s: %w", dir, err)
		}
	}
	return bin, nil
}

// Workspace is a temporary Terraform working directory with its own CLI configuration,
// so no user or machine setting (TF_CLI_CONFIG_FILE, plugin caches) leaks into a test.
type Workspace struct {
	t   testing.TB
	Bin string
	Dir string
	Env []string // extra variables for every command, KEY=VALUE
}

// New writes files (name → content) into a fresh directory.
func New(t testing.TB, files map[string]string) *Workspace {
	t.Helper()
	w := &Workspace{t: t, Bin: Binary(t), Dir: t.TempDir()}
	cli := filepath.Join(t.TempDir(), "terraform.rc")
	if err := os.WriteFile(cli, []byte("disable_checkpoint = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.Env = []string{"TF_CLI_CONFIG_FILE=" + cli, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1"}
	for name, content := range files {
		w.Write(name, content)
	}
	return w
}

// Write creates or replaces a file in the working directory.
func (w *Workspace) Write(name, content string) {
	w.t.Helper()
	WriteFiles(w.t, w.Dir, map[string]string{name: content})
}

// WriteFiles writes files (slash-separated path under dir → content), creating their
// directories: the fixture of every test that needs a tree of real files.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Reader reads the files of the directory root by their slash paths, as the module reads the
// repository it was given (an environment.ReadFile): ok is false for a file it does not have.
func Reader(root string) func(name string) (data []byte, ok bool, err error) {
	return func(name string) ([]byte, bool, error) {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return data, err == nil, err
	}
}

// Exec runs terraform with args and returns stdout, stderr and the error, for tests that
// expect failures or exit codes.
func (w *Workspace) Exec(args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(w.Bin, args...)
	cmd.Dir = w.Dir
	cmd.Env = append(append(os.Environ(), "TF_INPUT=0"), w.Env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// Run runs terraform with args and fails the test if it fails.
func (w *Workspace) Run(args ...string) string {
	w.t.Helper()
	out, errOut, err := w.Exec(args...)
	if err != nil {
		w.t.Fatalf("terraform %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// Init runs terraform init.
func (w *Workspace) Init(args ...string) {
	w.t.Helper()
	w.Run(append([]string{"init", "-no-color", "-input=false"}, args...)...)
}

// Apply applies the configuration with auto-approve.
func (w *Workspace) Apply(args ...string) {
	w.t.Helper()
	w.Run(append([]string{"apply", "-no-color", "-input=false", "-auto-approve"}, args...)...)
}

// ID is the id attribute of a root module resource in the state (terraform show -json).
func (w *Workspace) ID(address string) string {
	w.t.Helper()
	var st struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string         `json:"address"`
					Values  map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(w.Run("show", "-json")), &st); err != nil {
		w.t.Fatal(err)
	}
	for _, r := range st.Values.RootModule.Resources {
		if id, ok := r.Values["id"].(string); ok && r.Address == address {
			return id
		}
	}
	w.t.Fatalf("the state has no %s with an id", address)
	return ""
}

// PlanJSON saves a plan to tfplan and returns `terraform show -json tfplan`.
func (w *Workspace) PlanJSON(args ...string) []byte {
	w.t.Helper()
	w.Run(append([]string{"plan", "-no-color", "-input=false", "-out=tfplan"}, args...)...)
	return []byte(w.Run("show", "-json", "tfplan"))
}

// PlanChange is the JSON plan of a change to main.tf: it applies before (unless empty),
// then writes after and plans it with args. Tests of what a plan does share it.
func (w *Workspace) PlanChange(before, after string, args ...string) []byte {
	w.t.Helper()
	if before != "" {
		w.Write("main.tf", before)
		w.Init()
		w.Apply()
	}
	w.Write("main.tf", after)
	w.Init()
	return w.PlanJSON(args...)
}

// UseRealAWSProvider makes the workspace install the real hashicorp/aws provider from a
// filesystem mirror: the registry is unreachable here, but this machine image ships one
// (/opt/tf-plugins); INFRAPIPE_AWS_PROVIDER_MIRROR names another. Without one the test is
// skipped, saying where it looked.
func (w *Workspace) UseRealAWSProvider() {
	w.t.Helper()
	mirror := os.Getenv("INFRAPIPE_AWS_PROVIDER_MIRROR")
	if mirror == "" {
		mirror = "/opt/tf-plugins"
	}
	if m, _ := filepath.Glob(filepath.Join(mirror, "registry.terraform.io/hashicorp/aws/*/linux_amd64/terraform-provider-aws_*")); len(m) == 0 {
		w.t.Skipf("no real hashicorp/aws provider in %s (set INFRAPIPE_AWS_PROVIDER_MIRROR to a filesystem mirror holding one)", mirror)
	}
	cli := filepath.Join(w.t.TempDir(), "mirror.tfrc")
	config := `disable_checkpoint = true
provider_installation {
  filesystem_mirror {
    path    = "` + mirror + `"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
`
	if err := os.WriteFile(cli, []byte(config), 0o644); err != nil {
		w.t.Fatal(err)
	}
	w.Env = append(w.Env, "TF_CLI_CONFIG_FILE="+cli)
}

// UseRealAWSProviderOn writes provider.tf for the real hashicorp/aws provider with every
// service named pointed at an emulator (moto) and fake credentials, and installs the provider
// as UseRealAWSProvider does: plans and applies then have the provider's real shapes.
func (w *Workspace) UseRealAWSProviderOn(emulatorURL string, services ...string) {
	w.t.Helper()
	w.Write("provider.tf", `terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
`+AWSProvider("", "us-east-1", emulatorURL, services...))
	w.UseRealAWSProvider()
}

// AWSProvider is a provider "aws" block that sends the services to an emulator, in region;
// alias names a second one (resources of another region), "" the default provider.
func AWSProvider(alias, region, emulatorURL string, services ...string) string {
	var b strings.Builder
	b.WriteString("provider \"aws\" {\n")
	if alias != "" {
		fmt.Fprintf(&b, "  alias                       = %q\n", alias)
	}
	fmt.Fprintf(&b, `  region                      = %q
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  endpoints {
`, region)
	for _, s := range services {
		fmt.Fprintf(&b, "    %s = %q\n", s, emulatorURL)
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

// SensitivePlan is the JSON plan of terraform_data.db whose input is a sensitive variable set
// to secret: the plan holds it in clear text, for tests of what must never repeat it.
func SensitivePlan(t testing.TB, secret string) []byte {
	t.Helper()
	w := New(t, map[string]string{"main.tf": `
variable "password" {
  type      = string
  sensitive = true
}
resource "terraform_data" "db" {
  input = var.password
}
`})
	w.Init()
	return w.PlanJSON("-var=password=" + secret)
}
