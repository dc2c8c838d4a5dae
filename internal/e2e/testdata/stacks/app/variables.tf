variable "project" {
  description = "Project name: prefixes every resource name and is the Project tag."
  type        = string
}

variable "environment" {
  description = "Target environment: preview, test, staging or prod."
  type        = string
}

variable "owner" {
  description = "Team that owns the stack (the Owner tag)."
  type        = string
  default     = "e2e"
}

variable "aws_region" {
  description = "AWS region of the stack."
  type        = string
  default     = "us-east-1"
}

variable "aws_endpoint" {
  description = "URL of an AWS emulator; empty for real AWS."
  type        = string
  default     = ""
}

variable "release" {
  description = "Release label: changing it updates terraform_data.release in place."
  type        = string
  default     = "r1"
}

variable "generation" {
  description = "Changing it replaces terraform_data.release (a delete and a create)."
  type        = string
  default     = "1"
}

variable "api_token" {
  description = "A secret the stack keeps; give it with --tf-var-file, never in the repository."
  type        = string
  default     = "none"
  sensitive   = true
}

variable "apply_delay" {
  description = "Seconds an apply holds the state lock (a slow resource); 0 for none."
  type        = number
  default     = 0
}
