environment             = "staging"
owner                   = "platform-team"
deletion_protection     = false
noncurrent_version_days = 14
alert_email             = "platform-alerts@example.com"
