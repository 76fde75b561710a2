output "event_bus_name" {
  description = "Bus to put events on (EventBusName)."
  value       = module.flight_controller.event_bus_name
}

output "capture_table_name" {
  description = "Capture table that scripts/put-events.sh polls (null without capture)."
  value       = module.flight_controller.capture_table_name
}

output "event_table_name" {
  description = "DynamoDB event store."
  value       = module.flight_controller.event_table_name
}

output "function_names" {
  description = "Lambda function names by key."
  value       = module.flight_controller.function_names
}

output "dead_letter_queue_urls" {
  description = "Dead-letter queue URL of each function."
  value       = module.flight_controller.dead_letter_queue_urls
}

output "alert_topic_arns" {
  description = "SNS topic per alarm severity."
  value       = module.flight_controller.alert_topic_arns
}

output "dashboard_url" {
  description = "CloudWatch dashboard."
  value       = module.flight_controller.dashboard_url
}
