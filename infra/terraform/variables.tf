variable "application_id" {
  description = "The Serverless Application Repository application: arn:aws:serverlessrepo:REGION:ACCOUNT:applications/api-authorizer-alerts"
  type        = string
  default     = ""
  validation {
    condition     = var.application_id == "" || can(regex("^arn:aws[a-z-]*:serverlessrepo:[a-z0-9-]+:[0-9]{12}:applications/[A-Za-z0-9-]+$", var.application_id))
    error_message = "application_id must be an application ARN, arn:aws:serverlessrepo:REGION:ACCOUNT:applications/NAME."
  }
}

variable "semantic_version" {
  description = "The published version to deploy, such as 0.1.0"
  type        = string
  default     = "0.1.0"
}

variable "packaged_template_url" {
  description = "Instead of the application: the https URL of the packaged template in S3 (sam package, then aws s3 cp)"
  type        = string
  default     = ""
}

variable "stack_name" {
  description = "Name of the CloudFormation stack (the application's stack gets the prefix serverlessrepo-)"
  type        = string
  default     = "authorizer-alerts"
}

variable "access_log_group_name" {
  description = "The API stage's access-log group (never a /aws/lambda/... group)"
  type        = string
}

variable "alert_email" {
  description = "Optional address subscribed to the alert topic (it must confirm the subscription)"
  type        = string
  default     = ""
}

variable "alert_label" {
  description = "Optional label in the alert subject, such as prod"
  type        = string
  default     = ""
}

variable "extra_parameters" {
  description = "Any other parameter of the forwarder stack by name, such as { ApiId = \"a1b2c3d4e5\" }"
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags for the stack"
  type        = map(string)
  default     = {}
}
