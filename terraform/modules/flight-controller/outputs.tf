output "event_bus_name" {
  description = "Name of the bus producers put events on (EventBusName in PutEvents entries)."
  value       = aws_cloudwatch_event_bus.this.name
}

output "event_bus_arn" {
  description = "ARN of the event bus, for producers' IAM policies (events:PutEvents)."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "event_table_name" {
  description = "Name of the DynamoDB event store."
  value       = aws_dynamodb_table.events.name
}

output "capture_table_name" {
  description = "Name of the DynamoDB capture table that tests poll (null when capture is disabled)."
  value       = var.enable_capture ? aws_dynamodb_table.capture[0].name : null
}

output "function_names" {
  description = "Lambda function names by key (ingest-<event type>, settle, capture)."
  value       = { for key, f in aws_lambda_function.this : key => f.function_name }
}

output "dead_letter_queue_urls" {
  description = "Dead-letter queue URL of each function, by function key."
  value       = { for key, q in aws_sqs_queue.dead_letter : key => q.url }
}

output "alert_topic_arns" {
  description = "SNS topic ARN per alarm severity (page, ticket), for subscriptions managed elsewhere."
  value       = { for severity, t in aws_sns_topic.alerts : severity => t.arn }
}

output "alarm_names" {
  description = "Every CloudWatch alarm name, by key: the operational alarms (<function>-errors, late-events-<event type>, ...), then the SLO burn-rate and composite alarms (keyed by their names)."
  value = merge(
    { for key, a in aws_cloudwatch_metric_alarm.this : key => a.alarm_name },
    { for key, a in aws_cloudwatch_metric_alarm.slo_window : key => a.alarm_name },
    { for key, a in aws_cloudwatch_composite_alarm.slo : key => a.alarm_name },
  )
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this.dashboard_name}"
}

output "kms_key_arn" {
  description = "ARN of the customer-managed key that encrypts the environment's data."
  value       = aws_kms_key.this.arn
}

output "event_patterns" {
  description = "EventBridge event pattern (JSON) of each event type's rule, by event type name."
  value       = module.catalog.event_patterns
}
