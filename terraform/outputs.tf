# Post-deploy tests read these (terraform output -json) to find what they check.

output "bucket_name" {
  description = "Name of the data bucket."
  value       = aws_s3_bucket.data.bucket
}

output "bucket_arn" {
  description = "ARN of the data bucket."
  value       = aws_s3_bucket.data.arn
}

output "logs_bucket_name" {
  description = "Name of the access-log bucket."
  value       = aws_s3_bucket.logs.bucket
}

output "table_name" {
  description = "Name of the orders table."
  value       = aws_dynamodb_table.orders.name
}

output "table_arn" {
  description = "ARN of the orders table."
  value       = aws_dynamodb_table.orders.arn
}

output "topic_arn" {
  description = "ARN of the alerts topic the alarms publish to."
  value       = aws_sns_topic.alerts.arn
}

output "alarm_names" {
  description = "Names of every CloudWatch alarm of the stack, sorted."
  value = sort(concat(
    [for a in aws_cloudwatch_metric_alarm.table_throttles : a.alarm_name],
    [aws_cloudwatch_metric_alarm.data_4xx.alarm_name, aws_cloudwatch_metric_alarm.data_5xx.alarm_name],
    [aws_cloudwatch_metric_alarm.alerts_failed.alarm_name],
  ))
}

output "kms_key_arn" {
  description = "ARN of the key that encrypts the bucket, table and topic."
  value       = aws_kms_key.main.arn
}
