environment             = "preview"
owner                   = "platform-team"
deletion_protection     = false
noncurrent_version_days = 1
alert_email             = "platform-alerts@example.com"
