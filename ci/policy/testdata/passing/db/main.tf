variable "tags" {
  type = map(string)
}

resource "terraform_data" "aws_db_instance__main" {
  input = {
    engine              = "postgres"
    storage_encrypted   = true
    deletion_protection = true
    tags                = var.tags
    tags_all            = var.tags
  }
}
