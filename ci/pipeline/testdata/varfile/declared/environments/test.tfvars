replicas = 3
region   = "eu-central-1"
