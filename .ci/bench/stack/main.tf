# The benchmark's stack: two terraform_data resources and the S3 backend, so a plan times
# the Dagger layer and Terraform's backend round trips rather than a provider.
terraform {
  required_version = ">= 1.10"
  backend "s3" {}
}

variable "aws_region" {
  type    = string
  default = "us-east-1"
}

variable "aws_endpoint" {
  type    = string
  default = ""
}

variable "environment" {
  type = string
}

resource "terraform_data" "app" {
  input = "app-${var.environment}"
}

resource "terraform_data" "db" {
  input = "db-${var.environment}"
}
