# The forwarder stack (infra/template.yaml) deployed with Terraform, from its application in the AWS
# Serverless Application Repository (infra/README.md, "Publishing"). Set packaged_template_url to
# deploy the `sam package`d template directly instead, with no SAR application.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

locals {
  # The forwarder stack's parameters: the three most stacks set, then any other by name. Every
  # name must be a parameter of infra/template.yaml (tests/tests/ecosystem.rs checks it).
  named_parameters = {
    AccessLogGroupName = var.access_log_group_name
    AlertEmail         = var.alert_email
    AlertLabel         = var.alert_label
  }
  forwarder_parameters = merge(local.named_parameters, var.extra_parameters)
  from_sar             = var.packaged_template_url == ""
}

# Option 1: the published application. The stack is named serverlessrepo-<name>.
resource "aws_serverlessapplicationrepository_cloudformation_stack" "forwarder" {
  count            = local.from_sar ? 1 : 0
  name             = var.stack_name
  application_id   = var.application_id
  semantic_version = var.semantic_version
  # The template's own: IAM roles, and resource policies (Lambda permissions for CloudWatch Logs
  # and EventBridge, the topic policy, the dead-letter queue policy).
  capabilities = ["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"]
  parameters   = local.forwarder_parameters
  tags         = var.tags
  lifecycle {
    precondition {
      condition     = var.application_id != ""
      error_message = "Set application_id (the published application's ARN), or packaged_template_url for option 2."
    }
  }
}

# Option 2: the template `sam package` wrote, uploaded to S3 (it is over the 51,200 bytes
# template_body takes). CloudFormation runs the SAM transform itself, hence CAPABILITY_AUTO_EXPAND;
# CreateStack has no resource-policy capability.
resource "aws_cloudformation_stack" "forwarder" {
  count        = local.from_sar ? 0 : 1
  name         = var.stack_name
  template_url = var.packaged_template_url
  capabilities = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
  parameters   = local.forwarder_parameters
  tags         = var.tags
}
