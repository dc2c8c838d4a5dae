locals {
  # An emulator (moto_server, LocalStack) answers every service on one URL and has no
  # real account, so validation calls are skipped only then; real AWS skips nothing.
  emulated = var.aws_endpoint != ""
}

provider "aws" {
  region = var.aws_region

  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  skip_region_validation      = local.emulated
  skip_requesting_account_id  = local.emulated

  dynamic "endpoints" {
    for_each = local.emulated ? [var.aws_endpoint] : []
    content {
      ec2 = endpoints.value
      sts = endpoints.value
    }
  }

  default_tags {
    tags = merge(module.naming.tags, {
      Project     = var.project
      Environment = var.environment
      Owner       = var.owner
    })
  }
}
