package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmulateAWSOnAPlainStack: --emulate-aws deploys a stack written for AWS alone, whose
// provider sets nothing for an emulator (the example stack's does): with the real aws
// provider, its bucket is created in the emulator rather than addressed as <bucket>.aws.
// Its name holds a value of --tf-var-file, which moto's request log shows in every request
// path: the engine scrubs it there too.
func TestEmulateAWSOnAPlainStack(t *testing.T) {
	requireEngine(t)
	image := os.Getenv("INFRAPIPE_TERRAFORM_AWS_IMAGE")
	if image == "" {
		t.Skip("no Terraform image with the real aws provider (.ci/engine.sh builds one when a provider mirror exists)")
	}
	t.Parallel()
	dir := t.TempDir()
	for name, data := range map[string]string{
		"main.tf": "terraform {\n  backend \"s3\" {}\n\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"~> 5.80\"\n    }\n  }\n}\n\n" +
			"provider \"aws\" {\n  region = \"us-east-1\"\n}\n\nvariable \"environment\" {\n  type = string\n}\n\n" +
			"variable \"suffix\" {\n  type = string\n}\n\n" +
			"resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"plainco-${var.environment}-${var.suffix}\"\n}\n",
		"pipeline.yaml":            "version: 1\ndefaults:\n  backend:\n    bucket: plainco-tfstate\n    region: us-east-1\n    use_lockfile: true\n",
		"environments/test.tfvars": "environment = \"test\"\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const canary = "zzcanary7319"
	out := filepath.Join(t.TempDir(), "out")
	res := mustCall(t, []string{"SECRET_TFVARS=suffix = \"" + canary + "\"\n"}, "--source="+dir, "--terraform-dir=.", "--terraform-image="+image,
		"--emulate-aws", "--tf-var-file=env:SECRET_TFVARS", "apply", "--env=test", "export", "--path="+out)
	if log := readFile(t, out, "apply.log"); !strings.Contains(log, "aws_s3_bucket.logs: Creation complete") {
		t.Errorf("apply.log does not create the bucket:\n%s", lastLines(log, 20))
	}
	for name, text := range map[string]string{"stdout": res.Stdout, "stderr": res.Stderr} {
		if i := strings.Index(text, canary); i >= 0 {
			t.Errorf("the --tf-var-file value shows in %s: %q", name, text[max(0, i-200):min(len(text), i+50)])
		}
	}
}
