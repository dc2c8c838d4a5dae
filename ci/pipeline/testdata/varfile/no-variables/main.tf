resource "terraform_data" "app" {
  input = 1
}
