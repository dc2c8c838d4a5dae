environment             = "prod"
owner                   = "platform-team"
deletion_protection     = true
noncurrent_version_days = 90
s3_4xx_alarm_threshold  = 20
alert_email             = "oncall@example.com"
