terraform {
  required_version = ">= 1.10.0" # the S3 backend's use_lockfile needs 1.10

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # Partial configuration: the pipeline passes the environment's backend settings.
  backend "s3" {}
}
