# Every resource breaks at least one rule of the built-in pack (see policy_test.go).
locals {
  tags = { Project = "infrapipe", Environment = "test", Owner = "platform" }
}

resource "terraform_data" "aws_s3_bucket__logs" {
  input = { bucket = "acme-logs", tags = local.tags, tags_all = local.tags }
}

resource "terraform_data" "aws_s3_bucket_acl__logs" {
  input = { bucket = terraform_data.aws_s3_bucket__logs.id, acl = "public-read" }
}

resource "terraform_data" "aws_s3_bucket__state" {
  input = { bucket = "acme-tfstate", tags = local.tags, tags_all = local.tags }
}

resource "terraform_data" "aws_s3_bucket_server_side_encryption_configuration__state" {
  input = { bucket = terraform_data.aws_s3_bucket__state.id }
}

resource "terraform_data" "aws_s3_bucket_public_access_block__state" {
  input = {
    bucket                  = terraform_data.aws_s3_bucket__state.id
    block_public_acls       = true
    block_public_policy     = true
    ignore_public_acls      = true
    restrict_public_buckets = false
  }
}

resource "terraform_data" "aws_security_group__admin" {
  input = {
    name     = "admin"
    tags     = { Project = "infrapipe" }
    tags_all = { Project = "infrapipe" }
    ingress = [
      { from_port = 22, to_port = 22, protocol = "tcp", cidr_blocks = ["0.0.0.0/0"], ipv6_cidr_blocks = [] },
      { from_port = 443, to_port = 443, protocol = "tcp", cidr_blocks = ["0.0.0.0/0"], ipv6_cidr_blocks = [] },
    ]
  }
}

resource "terraform_data" "aws_ebs_volume__data" {
  input = { size = 10, encrypted = false, tags = local.tags, tags_all = local.tags }
}

resource "terraform_data" "aws_dynamodb_table__locks" {
  input = {
    name                        = "locks"
    server_side_encryption      = []
    deletion_protection_enabled = false
    tags                        = local.tags
    tags_all                    = local.tags
  }
}

module "db" {
  source = "./db"
  tags   = local.tags
}
