project     = "e2e"
environment = "prod"
