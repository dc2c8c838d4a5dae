replica_count = 3
