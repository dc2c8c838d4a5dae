package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

func TestCheckDeclaredBackend(t *testing.T) {
	b := environment.Backend{Bucket: "acme-state", Key: "app/test/terraform.tfstate", Region: "us-east-1"}
	const resource = "resource \"terraform_data\" \"x\" {}\n"
	for _, tt := range []struct {
		name  string
		files map[string]string
		b     environment.Backend
		want  string // "" for no error
	}{
		{"an empty s3 block", map[string]string{"main.tf": "terraform {\n  backend \"s3\" {}\n}\n" + resource}, b, ""},
		{"the block in another file", map[string]string{"main.tf": resource, "versions.tf": "terraform {\n  required_version = \">= 1.5\"\n}\nterraform {\n  backend \"s3\" {}\n}\n"}, b, ""},
		{"a laptop's profile", map[string]string{"main.tf": "terraform {\n  backend \"s3\" {\n    encrypt = true\n    profile = \"acme-prod\"\n  }\n}\n"}, b,
			`main.tf:2: backend "s3" sets profile, but the pipeline's containers have no AWS config files`},
		{"settings the pipeline leaves alone", map[string]string{"main.tf": "terraform {\n  backend \"s3\" {\n    encrypt = true\n    assume_role {\n      role_arn = \"arn:aws:iam::123456789012:role/state\"\n    }\n  }\n}\n"}, b, ""},
		{"the environment's own values", map[string]string{"main.tf": "terraform {\n  backend \"s3\" {\n    bucket = \"acme-state\"\n    key    = \"app/test/terraform.tfstate\"\n    region = \"us-east-1\"\n  }\n}\n"}, b, ""},
		{"another key", map[string]string{"main.tf": "terraform {\n  backend \"s3\" {\n    bucket = \"acme-state\"\n    key    = \"x.tfstate\"\n  }\n}\n"}, b,
			`main.tf:2: backend "s3" sets key "x.tfstate" (the pipeline's: "app/test/terraform.tfstate"); the pipeline's init takes test's backend from pipeline.yaml`},
		// The pipeline.yaml lines that keep the block's state come with it.
		{"another key, and what to write", map[string]string{"main.tf": "terraform {\n  backend \"s3\" {\n    bucket = \"acme-state\"\n    key    = \"x.tfstate\"\n  }\n}\n"}, b,
			`give pipeline.yaml environments: {test: {backend: {bucket: "acme-state", key: "x.tfstate"}}}`},
		{"a lock table pipeline.yaml does not name", map[string]string{"main.tf": "terraform {\n  backend \"s3\" {\n    dynamodb_table = \"terraform-locks\"\n  }\n}\n"}, b,
			`main.tf:2: backend "s3" sets dynamodb_table "terraform-locks" (the pipeline's: none yet)`},
		{"a bucket where pipeline.yaml has none", map[string]string{"main.tf": "terraform {\n  backend \"s3\" {\n    bucket = \"their-bucket\"\n    region = \"eu-west-1\"\n  }\n}\n"}, environment.Backend{Key: "test/terraform.tfstate"},
			`main.tf:2: backend "s3" sets bucket "their-bucket" (the pipeline's: none yet), region "eu-west-1" (the pipeline's: none yet)`},
		{"not a plain string", map[string]string{"main.tf": "terraform {\n  backend \"s3\" {\n    key = var.key\n  }\n}\n"}, b,
			`main.tf:2: backend "s3" sets key to something other than a plain string`},
		{"gcs", map[string]string{"main.tf": "terraform {\n  backend \"gcs\" {\n    bucket = \"acme\"\n  }\n}\n"}, b,
			`main.tf:2 declares backend "gcs", but the pipeline keeps test's state in S3`},
		{"terraform cloud", map[string]string{"main.tf": "terraform {\n  cloud {\n    organization = \"acme\"\n  }\n}\n"}, b,
			"main.tf:2 declares a cloud block, but the pipeline keeps test's state in S3"},
		{"no backend", map[string]string{"main.tf": resource}, b,
			"the configuration declares no backend, so test's state would be lost after the run: declare `terraform { backend \"s3\" {} }`"},
		{"no backend in .tf, a .tf.json beside", map[string]string{"main.tf": resource, "backend.tf.json": `{"terraform": {"backend": {"s3": {}}}}`}, b, ""},
		{"a file that does not parse", map[string]string{"main.tf": "terraform {\n  backend \"s3\" {\n"}, b, ""},
		{"a .tf.json named before a .tf with another key", map[string]string{"a.tf.json": `{"locals": {"x": 1}}`, "main.tf": "terraform {\n  backend \"s3\" {\n    key = \"x.tfstate\"\n  }\n}\n"}, b,
			`main.tf:2: backend "s3" sets key "x.tfstate"`},
		{"a file that does not parse named before another key", map[string]string{"a.tf": "terraform {\n", "main.tf": "terraform {\n  backend \"s3\" {\n    key = \"x.tfstate\"\n  }\n}\n"}, b,
			`main.tf:2: backend "s3" sets key "x.tfstate"`},
		{"a hostile backend type", map[string]string{"main.tf": "terraform {\n  backend \"x\\n::error::y\" {}\n}\n"}, b, `declares backend "x\n::error::y"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{}
			for name, data := range tt.files {
				files[name] = []byte(data)
			}
			err := CheckDeclaredBackend(environment.Test, tt.b, files)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzCheckDeclaredBackend(f *testing.F) {
	f.Add("terraform {\n  backend \"s3\" {\n    key = \"x.tfstate\"\n  }\n}\n")
	f.Add("terraform {\n  cloud {}\n}\n")
	f.Fuzz(func(t *testing.T, tf string) {
		b := environment.Backend{Bucket: "acme-state", Key: "test/terraform.tfstate", Region: "us-east-1"}
		err := CheckDeclaredBackend(environment.Test, b, map[string][]byte{"main.tf": []byte(tf)})
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("error holds a raw line break: %q", err)
		}
	})
}

// An environment's backend file for terraform init by hand must name the pipeline's state:
// one naming another would have the pipeline plan from an empty state. The error gives the
// pipeline.yaml lines that keep the file's state.
func TestCheckBackendFiles(t *testing.T) {
	b := environment.Backend{Bucket: "acme-state", Key: "infra/test/terraform.tfstate", Region: "us-east-1"}
	same := "bucket = \"acme-state\"\nkey = \"infra/test/terraform.tfstate\"\nregion = \"us-east-1\"\nencrypt = true\n"
	legacy := "bucket = \"acme-state\"\nkey    = \"legacy/app-test.tfstate\"\nregion = \"us-east-1\"\n"
	for _, tt := range []struct {
		name  string
		files map[string]string
		b     environment.Backend
		want  []string // "" for no error
	}{
		{name: "no backend file", files: map[string]string{"infra/main.tf": "x"}, b: b},
		{name: "the pipeline's state", files: map[string]string{"infra/environments/test.s3.tfbackend": same}, b: b},
		{name: "another environment's file is not read", files: map[string]string{"infra/environments/prod.s3.tfbackend": legacy}, b: b},
		{name: "another key", files: map[string]string{"infra/environments/test.s3.tfbackend": legacy}, b: b, want: []string{
			`infra/environments/test.s3.tfbackend sets key "legacy/app-test.tfstate" (the pipeline's: "infra/test/terraform.tfstate")`,
			`give pipeline.yaml environments: {test: {backend: {bucket: "acme-state", key: "legacy/app-test.tfstate", region: "us-east-1"}}}, or change`,
		}},
		{name: "no pipeline.yaml backend yet", files: map[string]string{"infra/environments/test.tfbackend": legacy}, want: []string{
			`bucket "acme-state" (the pipeline's: none yet), key "legacy/app-test.tfstate" (the pipeline's: none yet), region "us-east-1" (the pipeline's: none yet)`,
		}},
		{name: "a lock table the pipeline does not know", b: b,
			files: map[string]string{"infra/environments/test.s3.tfbackend": same + "dynamodb_table = \"terraform-locks\"\n"},
			want:  []string{`dynamodb_table "terraform-locks" (the pipeline's: none yet)`}},
		{name: "another environment's key", b: b,
			files: map[string]string{"infra/environments/test.s3.tfbackend": "bucket = \"acme-state\"\nkey = \"infra/staging/terraform.tfstate\"\nregion = \"us-east-1\"\n"},
			want: []string{`infra/environments/test.s3.tfbackend sets key "infra/staging/terraform.tfstate", which names environment staging`,
				`Fix the file's key (the pipeline's: "infra/test/terraform.tfstate"), or remove the file`}},
		{name: "a file that does not parse", b: b, files: map[string]string{"infra/environments/test.s3.tfbackend": "bucket = \n"},
			want: []string{"infra/environments/test.s3.tfbackend does not parse"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tftest.WriteFiles(t, root, tt.files)
			read := func(name string) ([]byte, bool, error) {
				data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
				if os.IsNotExist(err) {
					return nil, false, nil
				}
				return data, err == nil, err
			}
			err := CheckBackendFiles(environment.Test, tt.b, read, "infra")
			if (err == nil) != (len(tt.want) == 0) {
				t.Fatalf("CheckBackendFiles = %v, want %q", err, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestCheckNoWorkspace(t *testing.T) {
	const naming = "modules/naming/main.tf"
	for _, tt := range []struct {
		name  string
		files map[string]string // paths from the repository root; the stack is in stack/
		want  string            // "" for no error
	}{
		{"none", map[string]string{"stack/main.tf": "resource \"terraform_data\" \"a\" {\n  input = var.environment\n}\n"}, ""},
		{"in a local's template and an output", map[string]string{
			"stack/main.tf":    "locals {\n  prefix = \"app-${terraform.workspace}\"\n}\n",
			"stack/outputs.tf": "output \"ws\" {\n  value = terraform.workspace\n}\n"},
			`stack/main.tf:2, stack/outputs.tf:2 reads terraform.workspace, which is "default" in every environment here`},
		{"in a condition", map[string]string{"stack/main.tf": "resource \"terraform_data\" \"a\" {\n  count = terraform.workspace == \"prod\" ? 1 : 0\n}\n"}, "stack/main.tf:2 reads"},
		{"in a local module", map[string]string{
			"stack/main.tf": "module \"naming\" {\n  source = \"../modules/naming\"\n}\n",
			naming:          "output \"prefix\" {\n  value = \"app-${terraform.workspace}\"\n}\n"},
			naming + ":2 reads terraform.workspace"},
		{"in a module the stack does not use", map[string]string{"stack/main.tf": "", naming: "output \"p\" {\n  value = terraform.workspace\n}\n"}, ""},
		{"another terraform attribute", map[string]string{"stack/main.tf": "resource \"terraform_data\" \"a\" {\n  input = path.module\n}\n"}, ""},
		{"a string that only says it", map[string]string{"stack/main.tf": "resource \"terraform_data\" \"a\" {\n  input = \"terraform.workspace\"\n}\n"}, ""},
		{"a file that does not parse", map[string]string{"stack/main.tf": "locals {\n  x = terraform.workspace\n"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := CheckNoWorkspace(environment.Test, changes.DirTree(dir), "stack")
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// Two reads on one line name the line once.
func TestWorkspaceReadsOnceALine(t *testing.T) {
	if got := workspaceReads("main.tf", []byte("locals {\n  x = \"${terraform.workspace}-${terraform.workspace}\"\n}\n")); len(got) != 1 || got[0] != "main.tf:2" {
		t.Errorf("workspaceReads = %q, want [main.tf:2]", got)
	}
}

func FuzzWorkspaceReads(f *testing.F) {
	f.Add("main.tf", "locals {\n  prefix = \"app-${terraform.workspace}\"\n}\n")
	f.Add("a\nb.tf", "output \"x\" {\n  value = terraform.workspace\n}\n")
	f.Fuzz(func(t *testing.T, name, tf string) {
		for _, at := range workspaceReads(name, []byte(tf)) {
			if strings.ContainsAny(at, "\r\n") {
				t.Errorf("place holds a raw line break: %q", at)
			}
		}
	})
}
