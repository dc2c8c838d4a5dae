variable "project" {
  description = "Project name: prefixes every resource name and is the Project tag."
  type        = string
  default     = "infrapipe-example"
}

variable "environment" {
  description = "Target environment: preview, test, staging or prod. Must match the backend key."
  type        = string

  validation {
    condition     = contains(["preview", "test", "staging", "prod"], var.environment)
    error_message = "environment must be one of preview, test, staging, prod."
  }
}

variable "owner" {
  description = "Team that owns the stack (the Owner tag)."
  type        = string
}

variable "aws_region" {
  description = "AWS region of the stack."
  type        = string
  default     = "us-east-1"
}

variable "aws_endpoint" {
  description = "URL of an AWS emulator (e.g. http://127.0.0.1:5000 for moto_server). Empty for real AWS."
  type        = string
  default     = ""
}

variable "cidr_block" {
  description = "The VPC's address range; its two subnets take the first two /24 ranges of it."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrsubnet(var.cidr_block, 8, 1))
    error_message = "cidr_block must be an IPv4 range of /16 to /24, e.g. 10.0.0.0/16."
  }
}
