environment         = "test"
owner               = "platform-team"
deletion_protection = false
