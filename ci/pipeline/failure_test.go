package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/state"
)

// A failed step names itself, the environment and the exit code over the end of the tool's
// output; a held or released state lock says so instead, and the lock error's lines filled
// in afterwards (as the module does) show in the message.
func TestStepFailed(t *testing.T) {
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	now := time.Date(2026, 11, 27, 0, 52, 0, 0, time.UTC)
	long := strings.Repeat("provider error line\n", 70) + "Error: the last line"
	tests := []struct {
		name     string
		output   string
		want     []string
		lock     bool
		released bool
	}{
		{"tool error", "\nError: Invalid provider configuration\n\n  on main.tf line 3\n",
			[]string{"terraform init failed in test (exit code 1):\nError: Invalid provider configuration\n  on main.tf line 3"}, false, false},
		{"long output keeps its end", long,
			[]string{"terraform init failed in test (exit code 1):\n[... 11 lines cut]\nprovider error line", "Error: the last line"}, false, false},
		{"a required variable without a value", read("plan-required-variable-unset.txt"),
			[]string{`The root module input variable "owner" is not set`,
				"The pipeline passes no -var: set the variable in test's var file (environments/test.tfvars unless pipeline.yaml's var_file says otherwise), or, for a secret, in --tf-var-file"}, false, false},
		{"held lock", read("lock-s3-lockfile.txt"),
			[]string{"terraform init: state of test is locked", "lock ID 96b7179c-f2c0-a2f3-e91f-87abe5738472", "waited 5m0s (-lock-timeout)",
				"release the lock:\n  dagger call force-unlock --env=test --lock-id=96b7179c-f2c0-a2f3-e91f-87abe5738472",
				"adopt them by their tags first:\n  dagger call import --env=test"}, true, false},
		{"lock released while waiting", read("lock-s3-released.txt"),
			[]string{"terraform init: state of test: the lock was released while this run waited for it"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := StepFailed("terraform init", "test", 1, tt.output, 5*time.Minute, now)
			var lockErr *state.LockError
			if errors.As(err, &lockErr) != tt.lock {
				t.Fatalf("lock error %v, want %v: %v", !tt.lock, tt.lock, err)
			}
			if tt.lock {
				lockErr.Unlock = "dagger call force-unlock --env=test --lock-id=" + lockErr.Lock.ID
				lockErr.Import = "dagger call import --env=test"
			}
			var released *state.LockReleasedError
			if errors.As(err, &released) != tt.released {
				t.Fatalf("released-lock error %v, want %v: %v", !tt.released, tt.released, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%s", w, err)
				}
			}
		})
	}
}

// An apply that fails part-way says what it left: real Terraform, with the real aws
// provider on moto, creates terraform_data.first, then fails to create a table that exists
// outside this configuration (another workspace made it).
// What real Terraform prints when the pipeline's Terraform, providers or module sources do
// not fit the repository gets the pipeline's advice, in words of its flags: Terraform's own
// names commands the user does not run here.
func TestStepFailedHints(t *testing.T) {
	const aws = "terraform {\n  required_providers {\n    aws = { source = \"hashicorp/aws\" }\n  }\n}\n"
	lock := func(version, hash string) string {
		return "provider \"registry.terraform.io/hashicorp/aws\" {\n  version = \"" + version + "\"\n  hashes = [\"" + hash + "\"]\n}\n"
	}
	mirrored, _ := filepath.Glob("/opt/tf-plugins/registry.terraform.io/hashicorp/aws/*")
	version := ""
	if len(mirrored) > 0 {
		version = filepath.Base(mirrored[0])
	}
	for _, tt := range []struct {
		name  string
		files map[string]string
		aws   bool // with the real aws provider
		want  string
	}{
		{"a required_version this Terraform does not meet", map[string]string{"main.tf": "terraform {\n  required_version = \">= 99.0\"\n}\n"}, false,
			"pass --terraform-version=<a version it allows>"},
		{"a module from a host the containers cannot reach", map[string]string{"main.tf": "module \"labels\" {\n  source = \"git::https://git.invalid/labels.git\"\n}\n"}, false,
			"pass --git-credentials=env:GIT_CREDENTIALS"},
		{"a lock file without this platform's checksum", map[string]string{"main.tf": aws, ".terraform.lock.hcl": lock(version, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")}, true,
			"terraform providers lock -platform=linux_amd64"},
		{"a lock file selecting a version not to be had", map[string]string{"main.tf": aws, ".terraform.lock.hcl": lock("5.1.0", "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")}, true,
			"selects a provider version this run cannot install"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := tftest.New(t, tt.files)
			if tt.aws {
				w.UseRealAWSProvider()
			}
			stdout, stderr, err := w.Exec("init", "-backend=false", "-input=false", "-no-color")
			if err == nil {
				t.Fatalf("terraform init succeeded; the case is moot:\n%s", stdout)
			}
			msg := StepFailed("terraform init", "test", 1, stdout+"\n"+stderr, time.Minute, time.Now()).Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("the failure lacks %q:\n%s", tt.want, msg)
			}
		})
	}
	if Hint("Error: Invalid provider configuration") != "" {
		t.Error("an error no hint knows got one")
	}
}

func TestStepFailedApplyPartWay(t *testing.T) {
	moto := mototest.Start(t)
	moto.Setenv(t)
	const table = `
resource "aws_dynamodb_table" "items" {
  name         = "taken-items"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
  depends_on = [terraform_data.first]
}
resource "terraform_data" "first" {
  input = "x"
}
`
	outside := tftest.New(t, map[string]string{"main.tf": table})
	outside.UseRealAWSProviderOn(moto.URL, "dynamodb", "sts")
	outside.Init()
	outside.Apply()

	w := tftest.New(t, map[string]string{"main.tf": table})
	w.UseRealAWSProviderOn(moto.URL, "dynamodb", "sts")
	w.Init()
	stdout, stderr, err := w.Exec("apply", "-auto-approve", "-input=false", "-no-color")
	if err == nil {
		t.Fatal("the apply of an existing table succeeded")
	}
	got := StepFailed("terraform apply", "test", 1, stdout+"\n"+stderr, time.Minute, time.Now()).Error()
	for _, want := range []string{
		"terraform apply failed in test (exit code 1)", "ResourceInUseException",
		"The apply stopped part-way: the 1 change(s) it completed before the error are in the state of test",
		"already exists outside Terraform: adopt it with this module's import (import --env=test --project=<your Project tag>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the error lacks %q:\n%s", want, got)
		}
	}
	// A step that is not an apply, or an apply that completed nothing, says neither.
	for _, step := range []string{"terraform plan", "terraform apply"} {
		out := "Error: creating AWS DynamoDB Table (taken-items): ResourceInUseException"
		if step == "terraform plan" {
			out = stdout + "\n" + stderr
		}
		if got := StepFailed(step, "test", 1, out, time.Minute, time.Now()).Error(); strings.Contains(got, "part-way") {
			t.Errorf("%s on %q says part-way:\n%s", step, out, got)
		}
	}
}

// A Terraform image the engine cannot pull gets the hint that says where its version came
// from and how to give another; another tool's image does not (its own error names its flag).
// The message is the engine's (v0.19.10), as it refused an image here.
func TestHintForATerraformImageThatCannotBePulled(t *testing.T) {
	const engine = `failed to resolve image "docker.io/hashicorp/terraform:1.9.8" (platform: "linux/amd64"): failed to resolve source metadata for docker.io/hashicorp/terraform:1.9.8: docker.io/hashicorp/terraform:1.9.8: not found`
	if h := Hint(engine); !strings.Contains(h, "pass --terraform-image=<an image you can pull") || !strings.Contains(h, ".terraform-version") {
		t.Errorf("Hint = %q", h)
	}
	if h := Hint(strings.ReplaceAll(engine, "hashicorp/terraform:1.9.8", "bridgecrew/checkov:3.2.524")); h != "" {
		t.Errorf("Hint of another image = %q", h)
	}
}

// A set-up command's failure says which command and what it printed, with the hint its
// output calls for, once; a step that could not run names the step and the environment.
func TestSetupFailed(t *testing.T) {
	err := SetupFailed([]string{"sh", "-c", "terraform init -backend=false", "providers"}, 1, "",
		"Error: Unsupported Terraform Core version\n\nThis configuration does not support Terraform version 1.11.4.")
	if want := "the providers' install (terraform init -backend=false) exited with code 1:\nError: Unsupported Terraform Core version"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("SetupFailed = %v, want it to start %q", err, want)
	}
	const pull = `failed to resolve image "docker.io/hashicorp/terraform:1.9.8": not found`
	notRun := NotRun("terraform init", environment.Prod, pull)
	if got := notRun.Error(); !strings.HasPrefix(got, "terraform init (prod): "+pull+"\n") || !strings.Contains(got, "--terraform-image") {
		t.Errorf("NotRun = %q", got)
	}
	if again := WithHint(notRun.Error()); again != notRun.Error() {
		t.Errorf("WithHint added its hint a second time:\n%s", again)
	}
	if plain := WithHint("connection refused"); plain != "connection refused" {
		t.Errorf("WithHint of an error without a hint = %q", plain)
	}
}

// A stack that reads another's outputs with terraform_remote_state, where that stack was
// never applied: real Terraform's error on a state bucket in moto, which its defaults do not
// prevent, gets the hint that says to apply that stack first.
func TestHintForRemoteStateNeverApplied(t *testing.T) {
	moto := mototest.Start(t)
	moto.Bucket(t, "remote-states")
	w := tftest.New(t, nil)
	w.Write("main.tf", fmt.Sprintf(`data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket                      = "remote-states"
    key                         = "stacks/network/preview/terraform.tfstate"
    region                      = "us-east-1"
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    use_path_style              = true
    endpoints                   = { s3 = %q }
  }
  defaults = { vpc_id = "vpc-0" }
}
output "vpc" { value = data.terraform_remote_state.network.outputs.vpc_id }
`, moto.URL))
	w.Init()
	stdout, stderr, err := w.Exec("plan", "-no-color", "-input=false")
	if err == nil {
		t.Fatalf("the plan read a state that does not exist:\n%s", stdout)
	}
	msg := StepFailed("terraform plan", environment.Preview, 1, stdout+"\n"+stderr, time.Minute, time.Now()).Error()
	if !strings.Contains(msg, "Unable to find remote state") || !strings.Contains(msg, "Apply that stack first (with it in pipeline.yaml's stacks.depends_on") {
		t.Errorf("StepFailed:\n%s", msg)
	}
}
