output "rule_name" {
  description = "Name of the default-bus rule that forwards the catalog's AWS service events."
  value       = aws_cloudwatch_event_rule.forward.name
}

output "event_pattern" {
  description = "The rule's event pattern (JSON): every service event a catalog source maps."
  value       = aws_cloudwatch_event_rule.forward.event_pattern
}

output "role_arn" {
  description = "ARN of the role EventBridge uses to put the events on the central bus."
  value       = aws_iam_role.forward.arn
}

output "dead_letter_queue_url" {
  description = "URL of the queue holding events that could not be delivered to the central bus."
  value       = aws_sqs_queue.dead_letter.url
}
