environment = "test"
