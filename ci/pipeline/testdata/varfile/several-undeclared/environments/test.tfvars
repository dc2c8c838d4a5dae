replica_count = 3
region        = "eu-central-1"
zone          = "a"
