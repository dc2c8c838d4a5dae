data "aws_caller_identity" "current" {}

module "naming" {
  source = "../modules/naming"

  project     = var.project
  environment = var.environment
}

locals {
  name       = module.naming.name
  account_id = data.aws_caller_identity.current.account_id
}

# One customer-managed key encrypts the data bucket, the table and the alerts topic.
# CloudWatch may use it: alarms cannot publish to a topic encrypted with the AWS-managed
# SNS key.
resource "aws_kms_key" "main" {
  description             = "${local.name}: data bucket, table and alerts topic"
  enable_key_rotation     = true
  deletion_window_in_days = var.environment == "prod" ? 30 : 7
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.main.key_id
}

data "aws_iam_policy_document" "kms" {
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchPublishesAlarms"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}
