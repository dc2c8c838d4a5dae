resource "terraform_data" "app" {
  input = var.replicas
}
