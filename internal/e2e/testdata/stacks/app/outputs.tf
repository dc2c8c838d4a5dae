output "bucket" {
  description = "Name of the data bucket."
  value       = aws_s3_bucket.data.bucket
}

output "release" {
  description = "The release label applied."
  value       = terraform_data.release.output
}

output "api_token" {
  description = "The secret, for the post-deploy checks; sensitive, never printed."
  value       = terraform_data.token.output
  sensitive   = true
}
