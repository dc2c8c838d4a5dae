package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// A state the real aws provider wrote: a bucket tagged for prod (tags, and the provider's
// default_tags in tags_all), a bucket tagged by default_tags alone, and an untagged
// terraform_data. Restoring it into staging is refused naming the resources; into prod,
// or with a tag key it does not use, it passes (checkEnvironment).
func TestRestoreRefusesAnotherEnvironment(t *testing.T) {
	moto := mototest.Start(t)
	moto.Setenv(t)
	w := tftest.New(t, map[string]string{"main.tf": `
resource "aws_s3_bucket" "data" {
  bucket = "envcheck-data"
  tags   = { Environment = "prod" }
}
resource "aws_s3_bucket" "logs" {
  provider = aws.tagged
  bucket   = "envcheck-logs"
}
resource "terraform_data" "note" {
  input = "x"
}
`})
	w.UseRealAWSProviderOn(moto.URL, "s3", "sts")
	w.Write("tagged.tf", strings.Replace(tftest.AWSProvider("tagged", "us-east-1", moto.URL, "s3", "sts"),
		"provider \"aws\" {", "provider \"aws\" {\n  default_tags {\n    tags = { Environment = \"prod\" }\n  }", 1))
	w.Init()
	w.Apply()
	backup, err := os.ReadFile(filepath.Join(w.Dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		env    environment.Name
		tagKey string
		want   string
	}{
		{environment.Staging, "Environment", `restore refused: the backup holds resources of another environment, not staging: aws_s3_bucket.data has Environment = "prod"; aws_s3_bucket.logs has Environment = "prod". Restored into staging, they would be staging's to change. Restore a backup of staging (backups --env=staging lists them)`},
		{environment.Prod, "Environment", ""},
		{environment.Staging, "Stage", ""},
	} {
		// Onto an empty backend, where there is no lineage to compare.
		_, err := PrepareRestore(tt.env, tt.tagKey, nil, backup)
		if got := errString(err); got != tt.want {
			t.Errorf("PrepareRestore(%s, %s) = %q, want %q", tt.env, tt.tagKey, got, tt.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
