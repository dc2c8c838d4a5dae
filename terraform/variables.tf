variable "project" {
  description = "Project name: prefixes every resource name and is the Project tag."
  type        = string
  default     = "infrapipe-example"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.project))
    error_message = "project must be 3-32 lowercase letters, digits or hyphens (it is part of bucket names)."
  }
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
  description = "Team that owns the stack (the Owner tag); alarms reach them."
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

variable "deletion_protection" {
  description = "Protect the DynamoDB table from deletion; on in prod (environments/prod.tfvars)."
  type        = bool
  default     = false
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept in the data bucket."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1."
  }
}

variable "throttle_alarm_threshold" {
  description = "DynamoDB read or write throttle events per 5 minutes that raise an alarm."
  type        = number
  default     = 1
}

variable "s3_4xx_alarm_threshold" {
  description = "S3 4xx responses per 5 minutes on the data bucket that raise an alarm."
  type        = number
  default     = 50
}

variable "alert_email" {
  description = "E-mail address subscribed to the alerts topic; empty for none."
  type        = string
  default     = ""
}
