# The same resources as failing/, configured to pass every rule of the built-in pack.
locals {
  tags = { Project = "infrapipe", Environment = "prod", Owner = "platform" }
}

resource "terraform_data" "aws_s3_bucket__logs" {
  input = { bucket = "acme-logs", tags = local.tags, tags_all = local.tags }
}

resource "terraform_data" "aws_s3_bucket_acl__logs" {
  input = { bucket = terraform_data.aws_s3_bucket__logs.id, acl = "private" }
}

resource "terraform_data" "aws_s3_bucket_server_side_encryption_configuration__logs" {
  input = { bucket = terraform_data.aws_s3_bucket__logs.id }
}

resource "terraform_data" "aws_s3_bucket_public_access_block__logs" {
  input = {
    bucket                  = terraform_data.aws_s3_bucket__logs.id
    block_public_acls       = true
    block_public_policy     = true
    ignore_public_acls      = true
    restrict_public_buckets = true
  }
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
    restrict_public_buckets = true
  }
}

resource "terraform_data" "aws_s3_bucket_versioning__state" {
  input = {
    bucket                   = terraform_data.aws_s3_bucket__state.id
    versioning_configuration = [{ status = "Enabled" }]
  }
}

# Its Project and Environment tags come from the provider's default_tags; tags_all is only
# known after apply here.
resource "terraform_data" "clock" {}

resource "terraform_data" "aws_security_group__admin" {
  input = {
    name     = "admin"
    tags     = { Owner = "platform" }
    tags_all = terraform_data.clock.id
    ingress = [
      { from_port = 22, to_port = 22, protocol = "tcp", cidr_blocks = ["10.0.0.0/8"], ipv6_cidr_blocks = [] },
      { from_port = 443, to_port = 443, protocol = "tcp", cidr_blocks = ["0.0.0.0/0"], ipv6_cidr_blocks = ["::/0"] },
    ]
  }
}

resource "terraform_data" "aws_ebs_volume__data" {
  input = { size = 10, encrypted = true, tags = local.tags, tags_all = local.tags }
}

resource "terraform_data" "aws_dynamodb_table__locks" {
  input = {
    name                        = "locks"
    server_side_encryption      = [{ enabled = true }]
    deletion_protection_enabled = true
    tags                        = local.tags
    tags_all                    = local.tags
  }
}

module "db" {
  source = "./db"
  tags   = local.tags
}
