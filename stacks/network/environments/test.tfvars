environment = "test"
owner       = "platform-team"
cidr_block  = "10.0.0.0/16"
