project     = "e2e"
environment = "test"
