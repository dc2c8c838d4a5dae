package plan

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// provider is a provider "aws" block for a plan that makes no API call; region is its
// region's expression, "" for none.
func provider(alias, region string) string {
	b := "provider \"aws\" {\n"
	if alias != "" {
		b += fmt.Sprintf("  alias = %q\n", alias)
	}
	if region != "" {
		b += "  region = " + region + "\n"
	}
	return b + `  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}
`
}

// The regions come from a real plan of the real hashicorp/aws provider: constants and root
// variables are read, a sensitive variable and other expressions are not.
func TestRegionsOfARealPlan(t *testing.T) {
	const topics = `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
variable "region" {
  type    = string
  default = "eu-west-1"
}
variable "dr_region" {
  type      = string
  sensitive = true
  default   = "ap-south-1"
}
locals {
  far = "sa-east-1"
}
resource "aws_sns_topic" "main" {
  name = "main"
}
resource "aws_sns_topic" "west" {
  provider = aws.west
  name     = "west"
}
`
	tests := []struct {
		name      string
		providers string
		want      Regions
	}{
		{"a constant, a variable, a sensitive variable and a local",
			provider("", "var.region") + provider("west", `"us-west-2"`) + provider("dr", "var.dr_region") + provider("far", "local.far"),
			Regions{Named: []string{"eu-west-1", "us-west-2"}, Unknown: 2}},
		{"a provider that names no region",
			provider("", "") + provider("west", `"us-west-2"`),
			Regions{Named: []string{"", "us-west-2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tftest.New(t, map[string]string{"main.tf": topics, "providers.tf": tt.providers})
			w.UseRealAWSProvider()
			w.Env = append(w.Env, "AWS_REGION=us-east-1")
			w.Init()
			data := w.PlanJSON()
			a, err := Analyze(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a.Regions, tt.want) {
				t.Errorf("Regions = %+v, want %+v", a.Regions, tt.want)
			}
		})
	}
}
