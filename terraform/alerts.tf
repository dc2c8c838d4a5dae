# Alarms publish here; the topic is encrypted with the stack's key, which CloudWatch may use.
resource "aws_sns_topic" "alerts" {
  name              = "${local.name}-alerts"
  kms_master_key_id = aws_kms_key.main.arn
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alert_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = var.alert_email
}

locals {
  # Every alarm notifies on both transitions, so a recovery is seen as well as a failure.
  alarm_actions = [aws_sns_topic.alerts.arn]

  table_alarms = {
    read-throttles  = "ReadThrottleEvents"
    write-throttles = "WriteThrottleEvents"
  }
}

resource "aws_cloudwatch_metric_alarm" "table_throttles" {
  for_each = local.table_alarms

  alarm_name          = "${aws_dynamodb_table.orders.name}-${each.key}"
  alarm_description   = "DynamoDB ${each.value} on ${aws_dynamodb_table.orders.name}: requests are being rejected."
  namespace           = "AWS/DynamoDB"
  metric_name         = each.value
  dimensions          = { TableName = aws_dynamodb_table.orders.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.throttle_alarm_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "data_4xx" {
  alarm_name          = "${aws_s3_bucket.data.bucket}-4xx"
  alarm_description   = "S3 4xx responses on ${aws_s3_bucket.data.bucket}: denied or missing objects."
  namespace           = "AWS/S3"
  metric_name         = "4xxErrors"
  dimensions          = { BucketName = aws_s3_bucket.data.bucket, FilterId = aws_s3_bucket_metric.data.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.s3_4xx_alarm_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "data_5xx" {
  alarm_name          = "${aws_s3_bucket.data.bucket}-5xx"
  alarm_description   = "S3 5xx responses on ${aws_s3_bucket.data.bucket}: the service is failing requests."
  namespace           = "AWS/S3"
  metric_name         = "5xxErrors"
  dimensions          = { BucketName = aws_s3_bucket.data.bucket, FilterId = aws_s3_bucket_metric.data.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# The topic is watched too: when its deliveries fail, subscribers miss every other alarm. The
# alarm's own notification may fail the same way, so its state is what to look at in
# CloudWatch (and what the post-deploy tests read back by name).
resource "aws_cloudwatch_metric_alarm" "alerts_failed" {
  alarm_name          = "${aws_sns_topic.alerts.name}-failed-deliveries"
  alarm_description   = "SNS deliveries from ${aws_sns_topic.alerts.name} are failing: subscribers miss alarms."
  namespace           = "AWS/SNS"
  metric_name         = "NumberOfNotificationsFailed"
  dimensions          = { TopicName = aws_sns_topic.alerts.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
