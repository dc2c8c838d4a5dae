package policy

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// realAWSPlan plans main.tf with the real hashicorp/aws provider, as users' plans are made:
// its schema's computed blocks come out unknown (after_unknown), not empty. The provider
// is configured offline (fake credentials, no account lookups): planning creates makes no
// API call.
func realAWSPlan(t *testing.T, mainTF string) []byte {
	t.Helper()
	w := tftest.New(t, map[string]string{"main.tf": `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  default_tags {
    tags = { Project = "infrapipe", Environment = "prod", Owner = "platform" }
  }
}
` + mainTF})
	w.UseRealAWSProvider()
	w.Init()
	return w.PlanJSON()
}

// evalRealPlan runs the built-in pack on a real plan, as prod with its default tags.
func evalRealPlan(t *testing.T, plan []byte) Result {
	t.Helper()
	return evalPlanJSON(t, plan, Config{Environment: "prod", RequiredTags: []string{"Project", "Environment", "Owner"}, ProtectedEnvironments: []string{"prod"}})
}

// The encryption rule on what the real provider writes: a DynamoDB table whose
// server_side_encryption block is left out is planned with that block unknown, not empty,
// and must still be flagged; one that enables it is clean.
func TestEncryptionAtRestOnRealProviderPlans(t *testing.T) {
	plan := realAWSPlan(t, `
resource "aws_dynamodb_table" "plain" {
  name         = "plain"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
  deletion_protection_enabled = true
  point_in_time_recovery {
    enabled = true
  }
}

resource "aws_dynamodb_table" "encrypted" {
  name         = "encrypted"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
  deletion_protection_enabled = true
  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled = true
  }
}
`)
	// The shape the rule must handle, as the provider wrote it.
	var shape struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				AfterUnknown map[string]any `json:"after_unknown"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(plan, &shape); err != nil {
		t.Fatal(err)
	}
	for _, rc := range shape.ResourceChanges {
		if rc.Address == "aws_dynamodb_table.plain" && rc.Change.AfterUnknown["server_side_encryption"] == nil {
			t.Fatalf("the real provider no longer plans an omitted server_side_encryption as unknown: %v", rc.Change.AfterUnknown)
		}
	}

	var got []string
	for _, f := range evalRealPlan(t, plan).Findings {
		if f.RuleID == "encryption_at_rest" {
			got = append(got, f.Resource)
		}
	}
	if !slices.Equal(got, []string{"aws_dynamodb_table.plain"}) {
		t.Errorf("encryption_at_rest flagged %v, want only the table without server_side_encryption", got)
	}
}

// Every rule of the pack on plans the real provider writes: one configuration with each
// rule's flagged shape, and the same resources made right, which must be clean.
func TestPackOnRealProviderPlans(t *testing.T) {
	const untagged = `
provider "aws" {
  alias                       = "untagged"
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
`
	flagged := untagged + `
resource "aws_s3_bucket" "state" {
  bucket = "acme-tfstate"
}

resource "aws_s3_bucket_acl" "state" {
  bucket = aws_s3_bucket.state.id
  acl    = "public-read"
}

resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = false
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_security_group" "ssh" {
  name = "ssh"
  ingress {
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_db_instance" "db" {
  identifier          = "db"
  engine              = "postgres"
  instance_class      = "db.t3.micro"
  allocated_storage   = 20
  username            = "app"
  password            = "not-a-real-password"
  skip_final_snapshot = true
}

resource "aws_sns_topic" "untagged" {
  provider = aws.untagged
  name     = "untagged"
}
`
	clean := untagged + `
resource "aws_s3_bucket" "state" {
  bucket = "acme-tfstate"
}

resource "aws_s3_bucket_acl" "state" {
  bucket = aws_s3_bucket.state.id
  acl    = "private"
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_security_group" "ssh" {
  name = "ssh"
  ingress {
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["10.0.0.0/8"]
  }
}

resource "aws_db_instance" "db" {
  identifier          = "db"
  engine              = "postgres"
  instance_class      = "db.t3.micro"
  allocated_storage   = 20
  username            = "app"
  password            = "not-a-real-password"
  skip_final_snapshot = true
  storage_encrypted   = true
  deletion_protection = true
}

resource "aws_sns_topic" "untagged" {
  provider = aws.untagged
  name     = "untagged"
  tags     = { Project = "infrapipe", Environment = "prod", Owner = "platform" }
}
`
	want := []string{
		"admin_ingress CRITICAL aws_security_group.ssh",
		"deletion_protection HIGH aws_db_instance.db",
		"encryption_at_rest HIGH aws_db_instance.db",
		"encryption_at_rest HIGH aws_s3_bucket.state",
		"required_tags MEDIUM aws_sns_topic.untagged",
		"s3_public_access CRITICAL aws_s3_bucket_acl.state",
		"s3_public_access HIGH aws_s3_bucket.state",
		"s3_public_access HIGH aws_s3_bucket_public_access_block.logs",
		"state_bucket_versioning HIGH aws_s3_bucket.state",
	}
	if got := summary(evalRealPlan(t, realAWSPlan(t, flagged)).Findings); !slices.Equal(got, want) {
		t.Errorf("flagged configuration:\n got %q\nwant %q", got, want)
	}
	if got := summary(evalRealPlan(t, realAWSPlan(t, clean)).Findings); len(got) > 0 {
		t.Errorf("the same resources made right are flagged: %q", got)
	}
}
