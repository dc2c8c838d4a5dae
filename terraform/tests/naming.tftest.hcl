# The stack's unit tests (terraform test), which lint runs with the AWS provider mocked:
# no credentials, no emulator, nothing created. Each checks a promise the stack makes to
# the pipeline: names carry the environment, data is versioned and encrypted, bad input is
# refused.

mock_provider "aws" {
  # A mocked value is random text: policies must be JSON, and names hold the account.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{}"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
}

variables {
  environment = "test"
  owner       = "platform"
}

run "names_carry_the_environment" {
  command = plan

  assert {
    condition     = aws_s3_bucket.data.bucket == "infrapipe-example-test-data-123456789012"
    error_message = "the data bucket's name does not start with the project and the environment"
  }
  assert {
    condition     = aws_sns_topic.alerts.name == "infrapipe-example-test-alerts"
    error_message = "the alerts topic is not named after the project and the environment"
  }
}

run "data_is_versioned_and_encrypted" {
  command = plan

  assert {
    condition     = aws_s3_bucket_versioning.data.versioning_configuration[0].status == "Enabled"
    error_message = "the data bucket keeps no versions"
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.data.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
    error_message = "the data bucket is not encrypted with the stack's KMS key"
  }
}

run "refuses_an_unknown_environment" {
  command = plan

  variables {
    environment = "qa"
  }

  expect_failures = [var.environment]
}
