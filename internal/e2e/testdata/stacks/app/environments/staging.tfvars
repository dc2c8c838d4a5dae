project     = "e2e"
environment = "staging"
