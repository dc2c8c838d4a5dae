package pipeline

import (
	"fmt"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// TestEmulatorOverrideOnRealTerraform: the real aws provider, sent to moto by a host name (as
// containers reach the emulator, as "aws"), addresses a bucket as <bucket>.<host>, which does
// not resolve; with EmulatorOverride's file beside the stack, the same apply creates it.
func TestEmulatorOverrideOnRealTerraform(t *testing.T) {
	moto := mototest.Start(t)
	main := fmt.Sprintf(`terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true

  endpoints {
    s3 = "http://localhost:%d"
  }
}

resource "aws_s3_bucket" "logs" {
  bucket = "override-test-logs"
}
`, moto.Port)
	w := tftest.New(t, map[string]string{"main.tf": main})
	w.UseRealAWSProvider()
	w.Env = append(w.Env, moto.Env()...)
	w.Init()
	if _, stderr, err := w.Exec("apply", "-auto-approve", "-input=false", "-no-color"); err == nil {
		t.Skip("this machine resolves override-test-logs.localhost: path-style cannot be told from virtual-hosted addressing here")
	} else if !strings.Contains(stderr, "override-test-logs.localhost") {
		t.Fatalf("apply without the override failed otherwise than on the bucket's host name: %v\n%s", err, stderr)
	}
	contents, ok := EmulatorOverride(map[string][]byte{"main.tf": []byte(main)})
	if !ok {
		t.Fatal("EmulatorOverride found no provider \"aws\" block")
	}
	w.Write(EmulatorOverrideFile, contents)
	if _, stderr, err := w.Exec("apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("apply with the override: %v\n%s", err, stderr)
	}
}

// EmulatorOverride matches each aws provider block the stack declares, and none that it
// does not: an override of a block the stack lacks is an error to Terraform.
func TestEmulatorOverride(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string // the override's provider blocks, "" for none
	}{
		{"the default provider", map[string]string{"providers.tf": "provider \"aws\" {\n  region = var.region\n}\n"},
			"provider \"aws\" {\n  s3_use_path_style = true\n}\n"},
		{"an alias too", map[string]string{"providers.tf": "provider \"aws\" {}\n", "west.tf": "provider \"aws\" {\n  alias  = \"west\"\n  region = \"us-west-2\"\n}\n"},
			"provider \"aws\" {\n  s3_use_path_style = true\n}\n\nprovider \"aws\" {\n  alias             = \"west\"\n  s3_use_path_style = true\n}\n"},
		{"JSON configuration", map[string]string{"providers.tf.json": `{"provider": {"aws": {"region": "us-east-1"}}}`},
			"provider \"aws\" {\n  s3_use_path_style = true\n}\n"},
		{"another provider only", map[string]string{"main.tf": "provider \"google\" {}\nresource \"terraform_data\" \"x\" {}\n"}, ""},
		{"an implicit aws provider", map[string]string{"main.tf": "resource \"aws_s3_bucket\" \"b\" {}\n"}, ""},
		{"the stack's own override files are no base", map[string]string{"x_override.tf": "provider \"aws\" {}\n", "override.tf": "provider \"aws\" {}\n",
			"override.tf.json": `{"provider": {"aws": {}}}`, "y_override.tf.json": `{"provider": {"aws": {}}}`}, ""},
		{"a file that does not parse", map[string]string{"a.tf": "provider \"aws\" {", "b.tf": "provider \"aws\" {}\n"},
			"provider \"aws\" {\n  s3_use_path_style = true\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{}
			for name, data := range tt.files {
				files[name] = []byte(data)
			}
			got, ok := EmulatorOverride(files)
			if ok != (tt.want != "") || !strings.HasSuffix(got, tt.want) {
				t.Errorf("EmulatorOverride = %v\n%s\nwant the blocks\n%s", ok, got, tt.want)
			}
		})
	}
}
