locals {
  # An emulator answers every service on one URL and has no real account, so validation
  # calls are skipped only then; real AWS skips nothing.
  emulated = var.aws_endpoint != ""
}

provider "aws" {
  region = var.aws_region

  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  skip_region_validation      = local.emulated
  skip_requesting_account_id  = local.emulated
  s3_use_path_style           = local.emulated

  dynamic "endpoints" {
    for_each = local.emulated ? [var.aws_endpoint] : []
    content {
      dynamodb = endpoints.value
      s3       = endpoints.value
      sns      = endpoints.value
      sts      = endpoints.value
    }
  }

  # Discovery and import find the stack's resources by Project and Environment.
  default_tags {
    tags = {
      Project     = var.project
      Environment = var.environment
      Owner       = var.owner
    }
  }
}
