variable "replicas" {
  type    = number
  default = 1
}

resource "terraform_data" "app" {
  input = var.replicas
}
