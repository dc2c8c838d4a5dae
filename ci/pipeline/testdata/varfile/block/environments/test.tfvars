replicas = 3

variable "replica_count" {}
