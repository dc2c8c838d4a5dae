environment = "preview"
