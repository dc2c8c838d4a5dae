# The name every resource of a stack starts with, and the tags that find a stack's
# resources: shared by the repository's stacks (terraform/, stacks/network/) so that they
# name things alike. A change here selects every stack that uses it (ci/stacks).

terraform {
  required_version = ">= 1.10.0"
}

variable "project" {
  description = "Project name: the first part of every name, and the Project tag."
  type        = string
}

variable "environment" {
  description = "Target environment: preview, test, staging or prod."
  type        = string
}

variable "component" {
  description = "The stack's part of the system (network, data, ...), the Component tag; empty for none."
  type        = string
  default     = ""
}

output "name" {
  description = "<project>-<environment>: the prefix of every resource name."
  value       = "${var.project}-${var.environment}"
}

output "tags" {
  description = "Tags a stack adds to its provider's default_tags: Component when given."
  value       = var.component == "" ? {} : { Component = var.component }
}
