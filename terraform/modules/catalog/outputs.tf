output "namespace" {
  description = "CloudWatch namespace of every Flight Controller metric."
  value       = local.namespace
}

output "names" {
  description = "Names of the shared resources: event_bus, event_table, capture_table (null without capture), dashboard, kms_alias, alert_topics (by severity)."
  value       = local.names
}

output "event_types" {
  description = "Catalog event types by name: aliases, slug, description, help_url, aggregate_type, payload_fields, event_pattern."
  value       = local.event_types
}

output "event_patterns" {
  description = "EventBridge event pattern (JSON) of each event type's rule, by event type name. The local stack creates the same rules from this."
  value       = { for name, t in local.event_types : name => t.event_pattern }
}

output "capture_event_pattern" {
  description = "EventBridge event pattern (JSON) of the capture rule: events that carry detail.test_run_id."
  value       = local.capture_event_pattern
}

output "functions" {
  description = "Every Lambda function by key (ingest-<event type>, settle, capture): kind, zip_file, event_type, function_name, description, environment, and its trigger (event_bus with event_pattern or schedule_expression), rule_name, dead_letter_queue_name, log_group_name."
  value       = local.functions

  precondition {
    condition     = length(local.long_function_names) == 0
    error_message = "These function names exceed AWS's 64 characters; shorten name_prefix, environment or the event type name: ${join(", ", local.long_function_names)}."
  }
  precondition {
    condition     = !local.duplicate_slugs
    error_message = "Two event types map to the same resource name (names are lower-cased and split into words with hyphens); rename one."
  }
}

output "metrics" {
  description = "Catalog metrics by name: kind, unit, description, partition_by, slos, and the statistic that reads them."
  value       = local.metrics
}

output "slo_window_alarms" {
  description = "Burn-rate alarms by alarm name, one per SLO and distinct (window, factor) of its rules: alarm_name, slo, metric_name, namespace, dimensions, window_seconds, factor (the threshold), min_values, budget_percent, good_statistic (PR(...)), expression (the burn rate from ids good and n), treat_missing_data. They carry no actions."
  value       = local.slo_window_alarm_definitions

  precondition {
    condition     = length(local.slo_errors) == 0
    error_message = "The catalog's SLOs cannot become alarms: ${join("; ", local.slo_errors)}."
  }
}

output "slo_composite_alarms" {
  description = "Composite alarms by alarm name, one per SLO and severity its rules notify: alarm_name, slo, severity (the topic of its alarm and OK actions), rule (the alarm rule text), pairs ([long, short] window alarm names, OR-ed)."
  value       = local.slo_composite_alarms

  precondition {
    condition     = length(local.slo_errors) == 0
    error_message = "The catalog's SLOs cannot become alarms: ${join("; ", local.slo_errors)}."
  }
}

output "slo_alarm_texts" {
  description = "By SLO alarm name (window and composite alarms): description, and label (of the burn-rate expression, for window alarms)."
  value       = local.slo_alarm_texts
}

output "lateness_window_seconds" {
  description = "The catalog's lateness window (alerting.lateness_window, default 5m) in seconds; the ingest functions' LATENESS_WINDOW_SECONDS unless the lateness_window_seconds variable overrides it."
  value       = local.catalog_lateness_window
}

output "operational_alarms" {
  description = "CloudWatch alarm definitions for function errors and throttles, dead-letter queue depth, and late and rejected events."
  value       = local.operational_alarms
}

output "dashboard_body" {
  description = "CloudWatch dashboard body (JSON): a graph per catalog metric with its SLO thresholds, then late and rejected events."
  value       = local.dashboard_body
}
