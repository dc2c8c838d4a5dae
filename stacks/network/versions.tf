terraform {
  required_version = ">= 1.10.0" # the S3 backend's use_lockfile needs 1.10

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # Partial configuration: the pipeline renders the environment's backend from the
  # repository's pipeline.yaml (the key is stacks/network/<env>/terraform.tfstate).
  backend "s3" {}
}
