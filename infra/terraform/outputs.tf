output "outputs" {
  description = "The forwarder stack's outputs: TopicArn, FunctionName, DeadLetterQueueUrl, DashboardUrl, ReplayCommand, ..."
  value = (local.from_sar
    ? aws_serverlessapplicationrepository_cloudformation_stack.forwarder[0].outputs
  : aws_cloudformation_stack.forwarder[0].outputs)
}

output "topic_arn" {
  description = "The alert topic"
  value = (local.from_sar
    ? aws_serverlessapplicationrepository_cloudformation_stack.forwarder[0].outputs["TopicArn"]
  : aws_cloudformation_stack.forwarder[0].outputs["TopicArn"])
}
