resource "aws_s3_bucket" "data" {
  bucket        = "${var.project}-${var.environment}-data"
  force_destroy = true
}

resource "aws_dynamodb_table" "items" {
  name         = "${var.project}-${var.environment}-items"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }
}

resource "aws_sns_topic" "events" {
  name = "${var.project}-${var.environment}-events"
}

resource "terraform_data" "release" {
  input            = var.release
  triggers_replace = var.generation
}

resource "terraform_data" "token" {
  input = var.api_token
}

# Holds an apply (and so the state lock) for var.apply_delay seconds, for the locking tests.
resource "terraform_data" "slow" {
  count            = var.apply_delay > 0 ? 1 : 0
  triggers_replace = var.release

  provisioner "local-exec" {
    command = "sleep ${var.apply_delay}"
  }
}
