environment = "staging"
owner       = "platform-team"
cidr_block  = "10.1.0.0/16"
