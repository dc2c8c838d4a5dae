package pipeline

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// Reproduce lines carry exactly the options that differ from the defaults (a secret or a
// service by a stand-in), and conflicting or escaping options stop the constructor.
func TestConfigure(t *testing.T) {
	tests := []struct {
		name    string
		set     func(*Settings)
		want    Setup
		wantErr string
	}{
		{"defaults", nil,
			Setup{}, ""},
		{"region and image", func(s *Settings) { s.Region, s.TrivyImage = "eu-west-1", "mirror.example.com/trivy:0.74.0" },
			Setup{
				Options: []string{"--trivy-image=mirror.example.com/trivy:0.74.0", "--region=eu-west-1"}}, ""},
		{"terraform version picks the image", func(s *Settings) { s.TerraformVersion = "1.10.5" },
			Setup{TerraformImage: "hashicorp/terraform:1.10.5", Options: []string{"--terraform-version=1.10.5"}}, ""},
		{"the default's image named is an option: it wins over .terraform-version", func(s *Settings) { s.TerraformImage = "hashicorp/terraform:1.11.4" },
			Setup{TerraformImage: "hashicorp/terraform:1.11.4", Options: []string{"--terraform-image=hashicorp/terraform:1.11.4"}}, ""},
		{"the default's version given is an option too", func(s *Settings) { s.TerraformVersion = "1.11.4" },
			Setup{TerraformImage: "hashicorp/terraform:1.11.4", Options: []string{"--terraform-version=1.11.4"}}, ""},
		{"a version with a v", func(s *Settings) { s.TerraformVersion = "v1.10.5" },
			Setup{TerraformImage: "hashicorp/terraform:1.10.5", Options: []string{"--terraform-version=v1.10.5"}}, ""},
		{"a version that is none", func(s *Settings) { s.TerraformVersion = "latest" }, Setup{},
			`--terraform-version: "latest" is not an exact Terraform version: give one such as 1.11.4`},
		{"own image", func(s *Settings) { s.TerraformImage = "mirror.example.com/terraform:1.11.4" },
			Setup{TerraformImage: "mirror.example.com/terraform:1.11.4",
				Options: []string{"--terraform-image=mirror.example.com/terraform:1.11.4"}}, ""},
		{"a version beside an image", func(s *Settings) { s.TerraformVersion, s.TerraformImage = "1.10.5", "mirror.example.com/terraform" },
			Setup{}, `--terraform-image replaces hashicorp/terraform:<--terraform-version>: give one of them (--terraform-version "1.10.5", --terraform-image "mirror.example.com/terraform")`},
		{"even the image the version names", func(s *Settings) { s.TerraformVersion, s.TerraformImage = "1.10.5", "hashicorp/terraform:1.10.5" },
			Setup{}, "--terraform-image replaces hashicorp/terraform:<--terraform-version>: give one of them"},
		{"a directory given is kept, even terraform: a rerun picks no other", func(s *Settings) { s.TerraformDir = "terraform" },
			Setup{TerraformDir: "terraform", Options: []string{"--terraform-dir=terraform"}}, ""},
		{"directory is cleaned, the option kept as given", func(s *Settings) { s.TerraformDir = "/stacks/./app/" },
			Setup{TerraformDir: "stacks/app", Options: []string{"--terraform-dir=/stacks/./app/"}}, ""},
		{"emulate AWS starts moto on its port", func(s *Settings) { s.EmulateAWS = true },
			Setup{Emulator: StartMoto, EmulatorPort: 5000,
				Options: []string{"--emulate-aws"}}, ""},
		{"emulator on the default port", func(s *Settings) { s.AWSEmulator = true },
			Setup{Emulator: GivenEmulator, EmulatorPort: 5000,
				Options: []string{"--aws-emulator=tcp://localhost:5000"}}, ""},
		{"emulator on another port", func(s *Settings) { s.AWSEmulator, s.AWSEmulatorPort = true, 4566 },
			Setup{Emulator: GivenEmulator, EmulatorPort: 4566,
				Options: []string{"--aws-emulator=tcp://localhost:4566", "--aws-emulator-port=4566"}}, ""},
		{"the port in --aws-emulator's address", func(s *Settings) { s.AWSEmulator, s.AWSEmulatorPorts = true, []int{5055} },
			Setup{Emulator: GivenEmulator, EmulatorPort: 5055,
				Options: []string{"--aws-emulator=tcp://localhost:5055"}}, ""},
		{"--aws-emulator-port picks one of its ports", func(s *Settings) {
			s.AWSEmulator, s.AWSEmulatorPort, s.AWSEmulatorPorts = true, 4571, []int{4566, 4571}
		},
			Setup{Emulator: GivenEmulator, EmulatorPort: 4571,
				Options: []string{"--aws-emulator=tcp://localhost:4571", "--aws-emulator-port=4571"}}, ""},
		{"a port the emulator does not expose", func(s *Settings) { s.AWSEmulator, s.AWSEmulatorPort, s.AWSEmulatorPorts = true, 4566, []int{5055} }, Setup{},
			"--aws-emulator-port 4566 is not a port --aws-emulator exposes: give one of 5055"},
		{"the default port among several", func(s *Settings) { s.AWSEmulator, s.AWSEmulatorPorts = true, []int{4566, 4571} }, Setup{},
			"--aws-emulator-port 5000 is not a port --aws-emulator exposes: give one of 4566, 4571"},
		{"credentials beside an emulator are not used", func(s *Settings) { s.EmulateAWS, s.AWSAccessKeyID, s.AWSSecretAccessKey = true, true, true },
			Setup{Emulator: StartMoto, EmulatorPort: 5000,
				Options: []string{"--emulate-aws"}, Warning: "the AWS credentials given are not used: every AWS call of this run goes to the emulator"}, ""},
		{"credentials for AWS are", func(s *Settings) { s.AWSAccessKeyID, s.AWSSecretAccessKey = true, true },
			Setup{}, ""},
		{"a port without an emulator", func(s *Settings) { s.AWSEmulatorPort = 4566 }, Setup{},
			"--aws-emulator-port is the port of --aws-emulator: give --aws-emulator too (--emulate-aws uses moto's port 5000)"},
		{"a port that is none", func(s *Settings) { s.AWSEmulator, s.AWSEmulatorPort = true, -5 }, Setup{},
			"--aws-emulator-port -5 is not a port: give 1 to 65535"},
		{"a region that is none", func(s *Settings) { s.Region = "mars-1" }, Setup{},
			`--region "mars-1" is not valid: use an AWS region such as eu-west-1`},
		{"no region", func(s *Settings) { s.Region = "" }, Setup{}, `--region "" is not valid`},
		{"half the credentials", func(s *Settings) { s.AWSAccessKeyID = true }, Setup{},
			"--aws-access-key-id and --aws-secret-access-key go together: give both, or neither"},
		{"the credentials", func(s *Settings) { s.AWSAccessKeyID, s.AWSSecretAccessKey = true, true },
			Setup{}, ""},
		{"secret variables are named by their variable", func(s *Settings) { s.TfVarFile = true },
			Setup{Options: []string{"--tf-var-file=env:SECRET_TFVARS"}}, ""},
		{"secrets named as the call named them", func(s *Settings) {
			s.TfVarFile, s.TfVarFileRef, s.GitCredentials, s.GitCredentialsRef = true, "env://S2", true, "file://./git-credentials"
		}, Setup{Options: []string{"--tf-var-file=env:S2", "--git-credentials=file:./git-credentials"}}, ""},
		{"git credentials too", func(s *Settings) { s.TfVarFile, s.GitCredentials = true, true },
			Setup{Options: []string{"--tf-var-file=env:SECRET_TFVARS", "--git-credentials=env:GIT_CREDENTIALS"}}, ""},
		{"both emulators", func(s *Settings) { s.EmulateAWS, s.AWSEmulator = true, true }, Setup{},
			"--emulate-aws starts its own emulator and --aws-emulator passes one in: give one of them"},
		{"directory above the source", func(s *Settings) { s.TerraformDir = "../infra" }, Setup{},
			`terraform-dir "../infra" leaves the source directory: give a path inside it, e.g. terraform`},
		{"directory that climbs out", func(s *Settings) { s.TerraformDir = "/a/../../b" }, Setup{},
			`terraform-dir "/a/../../b" leaves the source directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Defaults
			s.TerraformDir, s.TerraformVersion = "", "" // as `dagger call` leaves them when not given
			if tt.set != nil {
				tt.set(&s)
			}
			got, err := Configure(s, Defaults)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.TerraformDir != tt.want.TerraformDir || got.TerraformImage != tt.want.TerraformImage ||
				got.Emulator != tt.want.Emulator || got.EmulatorPort != tt.want.EmulatorPort ||
				strings.Join(got.Options, " ") != strings.Join(tt.want.Options, " ") {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if line := Call(got.Options, "plan").String(); !strings.HasPrefix(line, "dagger call "+strings.Join(append(tt.want.Options, "plan"), " ")) {
				t.Errorf("reproduce line %q does not carry the options", line)
			}
		})
	}
}

// A stack's reproduce line names its directory once, and not at all for the default one.
func TestStackOptions(t *testing.T) {
	for _, tt := range []struct {
		options []string
		dir     string
		want    []string
	}{
		{nil, "stacks/app", []string{"--terraform-dir=stacks/app"}},
		{[]string{"--region=eu-west-1", "--terraform-dir=infra"}, "stacks/app", []string{"--region=eu-west-1", "--terraform-dir=stacks/app"}},
		{[]string{"--terraform-dir=infra", "--emulate-aws"}, "terraform", []string{"--emulate-aws"}},
	} {
		options := slices.Clone(tt.options)
		if got := StackOptions(options, tt.dir); !slices.Equal(got, tt.want) {
			t.Errorf("StackOptions(%q, %q) = %q, want %q", tt.options, tt.dir, got, tt.want)
		}
		if !slices.Equal(options, tt.options) {
			t.Errorf("StackOptions changed its argument to %q", options)
		}
	}
}

func TestCheckTerraformDir(t *testing.T) {
	repo := func(files ...string) func() ([]string, error) {
		return func() ([]string, error) { return files, nil }
	}
	for _, tt := range []struct {
		name      string
		dir       string
		here      []string
		elsewhere func() ([]string, error)
		wantErr   string
		picked    bool
		stacks    []string
	}{
		{"files there", "terraform", []string{"terraform/main.tf"}, nil, "", false, nil},
		{"a typo", "infra", nil, repo("terraform/main.tf", "terraform/vars.tf", "stacks/network/main.tf"),
			`--terraform-dir "infra": no Terraform files (*.tf) there; directories of --source that have them: stacks/network, terraform: pass --terraform-dir=<one of them>`, false, nil},
		{"many candidates", "x", nil, repo("a/1.tf", "b/1.tf", "c/1.tf", "d/1.tf", "e/1.tf", "f/1.tf", "g/1.tf"),
			`--terraform-dir "x": no Terraform files (*.tf) there; directories of --source that have them: a, b, c, d, e (and 2 more)`, false, nil},
		{"no Terraform at all", "terraform", nil, repo(), `--terraform-dir "terraform": no Terraform files (*.tf) there, nor anywhere in --source`, false, nil},
		{"a hostile name", "infra\n::error::x", nil, repo(), `--terraform-dir "infra\n::error::x": no Terraform files`, false, nil},
		{"the search fails", "infra", nil, func() ([]string, error) { return nil, errors.New("engine gone") },
			`--terraform-dir "infra": no Terraform files (*.tf) there; looking for them elsewhere: engine gone`, false, nil},
		{"none given, none picked", "terraform", nil, repo("infra/main.tf"),
			"no --terraform-dir given, and neither terraform/ nor the root of --source has Terraform files (*.tf); directories of --source that have them: infra: pass --terraform-dir=<one of them>", true, nil},
		{"none given, none anywhere", "terraform", nil, repo(),
			"no --terraform-dir given, and neither terraform/ nor the root of --source has Terraform files (*.tf), nor anywhere in --source", true, nil},
		{"none given, a repository of stacks", "terraform", nil, repo("modules/naming/main.tf", "stacks/app/main.tf", "stacks/network/main.tf"),
			"no --terraform-dir given, and neither terraform/ nor the root of --source has Terraform files (*.tf); the repository's stacks are stacks/app, stacks/network: pass --terraform-dir=<one of them>, or run them with pipeline --stacks=all", true,
			[]string{"stacks/app", "stacks/network"}},
		{"a typo among stacks", "stacks/nope", nil, repo("modules/naming/main.tf", "stacks/app/main.tf"),
			`--terraform-dir "stacks/nope": no Terraform files (*.tf) there; the repository's stacks are stacks/app: pass`, false, []string{"stacks/app"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTerraformDir(tt.dir, tt.picked, tt.here, func() []string { return tt.stacks }, tt.elsewhere)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckTerraformDir = %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("CheckTerraformDir = %v\nwant %s", err, tt.wantErr)
			}
		})
	}
}

// TestPickTerraformDir: without --terraform-dir, terraform/ when it has Terraform files, else
// the root when it does, else terraform/ for CheckTerraformDir to refuse; on real trees.
func TestPickTerraformDir(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"this repository's layout", map[string]string{"terraform/main.tf": "", "README.md": ""}, "terraform"},
		{"a stack at the root", map[string]string{"main.tf": "", "modules/x/main.tf": ""}, "."},
		{"JSON configuration at the root", map[string]string{"main.tf.json": "{}"}, "."},
		{"terraform/ wins over the root", map[string]string{"main.tf": "", "terraform/main.tf": ""}, "terraform"},
		{"an empty terraform/ is passed over", map[string]string{"terraform/README.md": "", "versions.tf": ""}, "."},
		{"variables and tests are no configuration", map[string]string{"terraform.tfvars": "", "tests/a.tftest.hcl": "", "x/main.tf": ""}, "terraform"},
		{"none: terraform/, to be refused", map[string]string{"infra/main.tf": ""}, "terraform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tftest.WriteFiles(t, root, tt.files)
			got, err := PickTerraformDir(func(dir string) (bool, error) {
				files, err := changes.ConfigFiles(changes.DirTree(root), dir) // as the module asks
				return len(files) > 0, err
			})
			if err != nil || got != tt.want {
				t.Errorf("PickTerraformDir = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	broken := func(string) (bool, error) { return false, errors.New("engine gone") }
	if _, err := PickTerraformDir(broken); err == nil || err.Error() != "look for Terraform files in terraform: engine gone" {
		t.Errorf("PickTerraformDir with a failing look-up: %v", err)
	}
}

func TestSecretRef(t *testing.T) {
	for _, tt := range []struct{ uri, want string }{
		{"env://SECRET_TFVARS", "env:SECRET_TFVARS"},
		{"env://S2", "env:S2"},
		{"file://./secret.tfvars", "file:./secret.tfvars"},
		{"file:///home/me/secret.tfvars", "file:/home/me/secret.tfvars"},
		{"cmd://pass show tfvars", "env:SECRET_TFVARS"},
		{"op://vault/item/field", "env:SECRET_TFVARS"},
		{"", "env:SECRET_TFVARS"},
		{"env://", "env:SECRET_TFVARS"},
	} {
		if got := SecretRef(tt.uri, "SECRET_TFVARS"); got != tt.want {
			t.Errorf("SecretRef(%q) = %q, want %q", tt.uri, got, tt.want)
		}
	}
}
