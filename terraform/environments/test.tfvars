environment         = "test"
owner               = "platform-team"
deletion_protection = false
alert_email         = "platform-alerts@example.com"
