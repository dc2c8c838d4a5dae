variable "tags" {
  type = map(string)
}

resource "terraform_data" "aws_db_instance__main" {
  input = {
    engine              = "postgres"
    storage_encrypted   = false
    deletion_protection = false
    tags                = var.tags
    tags_all            = var.tags
  }
}
