package tfversion

import (
	"errors"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

func TestFind(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // path → contents
		dir   string
		want  Pin
		found bool
		err   string
	}{
		{"in the Terraform directory", map[string]string{"terraform/.terraform-version": "1.9.8\n"}, "terraform",
			Pin{"1.9.8", "terraform/.terraform-version"}, true, ""},
		{"at the repository's root", map[string]string{".terraform-version": "1.10.5\n"}, "stacks/network",
			Pin{"1.10.5", ".terraform-version"}, true, ""},
		{"the nearest wins", map[string]string{".terraform-version": "1.10.5\n", "stacks/network/.terraform-version": "1.9.8\n"}, "stacks/network",
			Pin{"1.9.8", "stacks/network/.terraform-version"}, true, ""},
		{"a stack at the root", map[string]string{".terraform-version": "1.10.5"}, ".", Pin{"1.10.5", ".terraform-version"}, true, ""},
		{"comments, blank lines and a v", map[string]string{"terraform/.terraform-version": "# pinned for the provider\n\n  v1.11.4  \n"}, "terraform",
			Pin{"1.11.4", "terraform/.terraform-version"}, true, ""},
		{"a pre-release", map[string]string{".terraform-version": "1.12.0-beta2\n"}, "terraform", Pin{"1.12.0-beta2", ".terraform-version"}, true, ""},
		{"none", map[string]string{"terraform/main.tf": ""}, "terraform", Pin{}, false, ""},
		{"another directory's pin is not this stack's", map[string]string{"stacks/network/.terraform-version": "1.9.8"}, "terraform", Pin{}, false, ""},
		{"tfenv's latest", map[string]string{"terraform/.terraform-version": "latest:^1.9\n"}, "terraform", Pin{}, false,
			`terraform/.terraform-version: "latest:^1.9" is not an exact Terraform version: give one such as 1.11.4, or pass --terraform-version`},
		{"min-required", map[string]string{".terraform-version": "min-required"}, "terraform", Pin{}, false,
			`.terraform-version: "min-required" is not an exact Terraform version`},
		{"empty", map[string]string{".terraform-version": "\n# nothing\n"}, "terraform", Pin{}, false,
			`.terraform-version: "" is not an exact Terraform version`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tftest.WriteFiles(t, root, tt.files)
			pin, found, err := Find(tftest.Reader(root), tt.dir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Find: %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil || pin != tt.want || found != tt.found {
				t.Errorf("Find = %+v, %v, %v; want %+v, %v", pin, found, err, tt.want, tt.found)
			}
		})
	}
}

// A file that cannot be read is an error naming it, not a stack without a pin.
func TestFindUnreadable(t *testing.T) {
	broken := func(string) ([]byte, bool, error) { return nil, false, errors.New("engine gone") }
	if _, _, err := Find(broken, "terraform"); err == nil || !strings.Contains(err.Error(), "read terraform/.terraform-version: engine gone") {
		t.Errorf("Find with a failing reader: %v", err)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]string{"1.11.4": "1.11.4", "v1.9.8": "1.9.8", " 1.12.0-rc1 ": "1.12.0-rc1"} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.11", "latest", "~> 1.9", "1.11.4; rm -rf /", "1.11.4\n1.9.8", "hashicorp/terraform:1.11.4"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", in, got)
		}
	}
}

// FuzzFind: whatever a version file holds, Find gives an exact version an image tag can
// carry, or an error; never a version with a character a tag cannot have.
func FuzzFind(f *testing.F) {
	for _, s := range []string{"1.11.4\n", "# c\nv1.9.8", "latest:^1.9", "", "1.12.0-beta2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, contents string) {
		read := func(name string) ([]byte, bool, error) { return []byte(contents), name == changes.VersionFile, nil }
		pin, found, err := Find(read, "stacks/a")
		if err != nil {
			return
		}
		if !found || !exact.MatchString(pin.Version) || strings.ContainsAny(pin.Version, " \n/:") {
			t.Fatalf("Find of %q = %+v, %v", contents, pin, found)
		}
	})
}

// TestRequired: a required_version that allows one version pins it; a range pins nothing.
func TestRequired(t *testing.T) {
	block := func(constraint string) string {
		return "terraform {\n  required_version = \"" + constraint + "\"\n\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"~> 5.80\"\n    }\n  }\n\n  backend \"s3\" {}\n}\n"
	}
	tests := []struct {
		name  string
		files map[string]string
		want  Pin
		found bool
	}{
		{"a bare version", map[string]string{"versions.tf": block("1.9.8")}, Pin{"1.9.8", "required_version in terraform/versions.tf"}, true},
		{"an equals sign", map[string]string{"versions.tf": block("= 1.9.8")}, Pin{"1.9.8", "required_version in terraform/versions.tf"}, true},
		{"a v", map[string]string{"versions.tf": block("=v1.10.5")}, Pin{"1.10.5", "required_version in terraform/versions.tf"}, true},
		{"JSON configuration", map[string]string{"main.tf.json": `{"terraform": {"required_version": "1.9.8"}}`}, Pin{"1.9.8", "required_version in terraform/main.tf.json"}, true},
		{"a file that does not parse beside one that pins", map[string]string{"a.tf": "terraform {", "versions.tf": block("1.9.8")}, Pin{"1.9.8", "required_version in terraform/versions.tf"}, true},
		{"a lower bound", map[string]string{"versions.tf": block(">= 1.10.0")}, Pin{}, false},
		{"a pessimistic constraint", map[string]string{"versions.tf": block("~> 1.9.0")}, Pin{}, false},
		{"a range", map[string]string{"versions.tf": block(">= 1.9.8, < 2.0.0")}, Pin{}, false},
		{"an exclusion", map[string]string{"versions.tf": block("!= 1.9.8")}, Pin{}, false},
		{"none", map[string]string{"main.tf": "resource \"terraform_data\" \"x\" {}\n"}, Pin{}, false},
		{"variables files are no configuration", map[string]string{"x.tfvars": "required_version = \"1.9.8\"\n"}, Pin{}, false},
		{"not a string", map[string]string{"versions.tf": "terraform {\n  required_version = 1\n}\n"}, Pin{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{}
			for name, data := range tt.files {
				files[name] = []byte(data)
			}
			pin, found := Required(files, "terraform")
			if pin != tt.want || found != tt.found {
				t.Errorf("Required = %+v, %v; want %+v, %v", pin, found, tt.want, tt.found)
			}
		})
	}
}

// Terraform itself reads a bare required_version as that version alone: the real CLI refuses
// another, so the pipeline that picks it runs what the stack asks for.
func TestRequiredAsTerraformReadsIt(t *testing.T) {
	w := tftest.New(t, map[string]string{"versions.tf": "terraform {\n  required_version = \"1.9.8\"\n}\n"})
	if _, stderr, err := w.Exec("init", "-backend=false", "-input=false", "-no-color"); err == nil || !strings.Contains(stderr, "Unsupported Terraform Core version") {
		t.Fatalf("terraform init with required_version 1.9.8: %v\n%s", err, stderr)
	}
	pin, ok := Required(map[string][]byte{"versions.tf": []byte("terraform {\n  required_version = \"1.9.8\"\n}\n")}, ".")
	if !ok || pin.Version != "1.9.8" || pin.Source != "required_version in versions.tf" {
		t.Errorf("Required = %+v, %v", pin, ok)
	}
}

// FuzzRequired: whatever a configuration file holds, Required pins an exact version or none.
func FuzzRequired(f *testing.F) {
	f.Add("terraform {\n  required_version = \"1.9.8\"\n}\n")
	f.Add("terraform {\n  required_version = \">= 1.10, < 2\"\n  backend \"s3\" {}\n}\n")
	f.Add("terraform {")
	f.Fuzz(func(t *testing.T, src string) {
		pin, ok := Required(map[string][]byte{"versions.tf": []byte(src)}, "terraform")
		if ok && !exact.MatchString(pin.Version) {
			t.Fatalf("Required of %q = %+v", src, pin)
		}
	})
}

// Pick's precedence, on files as a repository holds them: the image option, then
// .terraform-version, then an exact required_version, then the default. The root module is
// read only when no version file decides.
func TestPick(t *testing.T) {
	required := func(c string) string { return "terraform {\n  required_version = \"" + c + "\"\n}\n" }
	tests := []struct {
		name      string
		image     string
		files     map[string]string
		want      string
		pinSource string // "" when no pin
		readCode  bool
	}{
		{"the option wins over every pin", "registry.example/terraform:1.9.8", map[string]string{".terraform-version": "1.10.5", "terraform/main.tf": required("1.8.5")},
			"registry.example/terraform:1.9.8", "", false},
		{"a version file wins over required_version", "", map[string]string{".terraform-version": "1.10.5", "terraform/main.tf": required("1.8.5")},
			"hashicorp/terraform:1.10.5", ".terraform-version", false},
		{"an exact required_version", "", map[string]string{"terraform/main.tf": required("= 1.8.5")},
			"hashicorp/terraform:1.8.5", "required_version in terraform/main.tf", true},
		{"a range pins nothing", "", map[string]string{"terraform/main.tf": required(">= 1.8")},
			"hashicorp/terraform:1.11.4", "", true},
		{"no pin at all", "", map[string]string{"terraform/main.tf": ""}, "hashicorp/terraform:1.11.4", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tftest.WriteFiles(t, root, tt.files)
			read := false
			code := func() (map[string][]byte, error) {
				read = true
				return map[string][]byte{"main.tf": []byte(tt.files["terraform/main.tf"])}, nil
			}
			got, err := Pick(tt.image, tftest.Reader(root), "terraform", code, "1.11.4")
			if err != nil {
				t.Fatal(err)
			}
			source := ""
			if got.Pin != nil {
				source = got.Pin.Source
			}
			if got.Image != tt.want || source != tt.pinSource || read != tt.readCode {
				t.Errorf("Pick = %s (pin %q, read the code %v); want %s (pin %q, read %v)", got.Image, source, read, tt.want, tt.pinSource, tt.readCode)
			}
		})
	}
	// What cannot be read fails the pick, named.
	if _, err := Pick("", tftest.Reader(t.TempDir()), "terraform", func() (map[string][]byte, error) {
		return nil, errors.New("read terraform/main.tf: engine gone")
	}, "1.11.4"); err == nil || !strings.Contains(err.Error(), "terraform/main.tf") {
		t.Errorf("Pick with an unreadable root module: %v", err)
	}
}
