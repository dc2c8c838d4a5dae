replicas =
