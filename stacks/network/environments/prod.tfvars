environment = "prod"
owner       = "platform-team"
cidr_block  = "10.2.0.0/16"
