# Deliberately misconfigured Terraform for the scanner tests: every resource here breaks a
# rule that trivy, tfsec or tflint reports. Never apply it. (No required_version on purpose.)
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

variable "unused" {
  default = "declared but never used"
}

resource "aws_s3_bucket" "logs" {
  bucket = "infrapipe-example-logs"
}

resource "aws_s3_bucket_acl" "logs" {
  bucket = aws_s3_bucket.logs.id
  acl    = "public-read"
}

resource "aws_security_group" "admin" {
  name        = "admin"
  description = "Admin access"

  ingress {
    description = "SSH from anywhere"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_ebs_volume" "data" {
  availability_zone = "eu-west-1a"
  size              = 10
  encrypted         = false
}

resource "aws_db_instance" "main" {
  identifier          = "main"
  engine              = "postgres"
  instance_class      = "db.t3.micro"
  allocated_storage   = 20
  username            = "admin"
  password            = "not-a-real-password"
  storage_encrypted   = false
  publicly_accessible = true
  skip_final_snapshot = true
}

output "bucket" {
  value = "${aws_s3_bucket.logs.bucket}"
}
