locals {
  catalog = yamldecode(
    var.catalog_yaml != null ? var.catalog_yaml : file(coalesce(var.catalog_path, "${path.module}/../../../events/catalog.yaml"))
  )

  namespace = local.catalog.namespace
  prefix    = "${var.name_prefix}-${var.environment}"

  # AWS names may not hold upper case or underscores: ProjectRequested and
  # project_requested both become project-requested.
  slug = { for t in local.catalog.event_types : t.name => lower(replace(replace(t.name, "/([a-z0-9])([A-Z])/", "$1-$2"), "_", "-")) }

  names = {
    event_bus     = local.prefix
    event_table   = "${local.prefix}-events"
    capture_table = var.enable_capture ? "${local.prefix}-capture" : null
    dashboard     = local.prefix
    kms_alias     = "alias/${local.prefix}"
    alert_topics  = { for severity in local.severities : severity => "${local.prefix}-${severity}" }
  }

  severities = ["page", "ticket"]

  # The one definition of which events reach an event type's function (the
  # local stack creates the same rules from the event_patterns output). An
  # event belongs to the type when detail.event_type is its name or an alias,
  # or, when detail.event_type is absent, when detail-type is (docs/envelope.md §4).
  event_types = {
    for t in local.catalog.event_types : t.name => {
      name           = t.name
      aliases        = try(t.aliases, [])
      slug           = local.slug[t.name]
      description    = try(t.description, "")
      help_url       = try(t.help_url, null)
      aggregate_type = try(t.aggregate_type, null)
      payload_fields = try(t.payload_fields, [])
      event_pattern = jsonencode({
        "$or" = [
          { detail = { event_type = concat([t.name], try(t.aliases, [])) } },
          {
            "detail-type" = concat([t.name], try(t.aliases, []))
            detail        = { event_type = [{ exists = false }] }
          },
        ]
      })
    }
  }

  # The lateness window the functions run with: the variable when set (the
  # local stack's 2 s), else the catalog's alerting.lateness_window; the
  # fallback only serves a catalog whose outputs' preconditions fail.
  lateness_window_seconds = coalesce(var.lateness_window_seconds, local.catalog_lateness_window, 300)

  # Test events carry a test-run id; the capture function records them.
  capture_event_pattern = jsonencode({ detail = { test_run_id = [{ exists = true }] } })

  # Ingest and settle record test measurements in the capture table; capture records test events.
  capture_table_environment = var.enable_capture ? {
    CAPTURE_TABLE_NAME = local.names.capture_table
    CAPTURE_TTL_HOURS  = tostring(var.capture_ttl_hours)
  } : {}

  # Grouped (...) so that two event types with one slug reach the precondition
  # on output.functions, which says what is wrong, instead of a for error.
  ingest_functions_by_key = {
    for name, t in local.event_types : "ingest-${t.slug}" => {
      kind          = "ingest"
      zip_file      = "ingest.zip"
      event_type    = name
      function_name = "${local.prefix}-ingest-${t.slug}"
      description   = "Stores ${name} events and measures what they complete."
      # LEASE_SECONDS too: ingest publishes at once what is already due (a
      # zero lateness window), leasing it as settle does.
      environment = merge({
        TABLE_NAME              = local.names.event_table
        EVENT_TYPE              = name
        ENVIRONMENT             = var.environment
        LATENESS_WINDOW_SECONDS = tostring(local.lateness_window_seconds)
        LEASE_SECONDS           = tostring(var.settle_lease_seconds)
        METRICS_MODE            = var.metrics_mode
        RUST_LOG                = "info"
      }, local.capture_table_environment)
      event_bus           = local.names.event_bus
      event_pattern       = t.event_pattern
      schedule_expression = null
    }...
  }
  ingest_functions = { for key, group in local.ingest_functions_by_key : key => group[0] }

  settle_function = {
    settle = {
      kind          = "settle"
      zip_file      = "settle.zip"
      event_type    = null
      function_name = "${local.prefix}-settle"
      description   = "Publishes the measurements whose lateness window has closed."
      environment = merge({
        TABLE_NAME    = local.names.event_table
        ENVIRONMENT   = var.environment
        METRICS_MODE  = var.metrics_mode
        LEASE_SECONDS = tostring(var.settle_lease_seconds)
        RUST_LOG      = "info"
      }, local.capture_table_environment)
      # Schedules only run on the default bus.
      event_bus           = "default"
      event_pattern       = null
      schedule_expression = local.sweep_interval_seconds == 60 ? "rate(1 minute)" : "rate(${floor(try(local.sweep_interval_seconds, 60) / 60)} minutes)"
    }
  }

  capture_function = var.enable_capture ? {
    capture = {
      kind          = "capture"
      zip_file      = "capture.zip"
      event_type    = null
      function_name = "${local.prefix}-capture"
      description   = "Records test events in the capture table."
      environment = merge(local.capture_table_environment, {
        RUST_LOG = "info"
      })
      event_bus           = local.names.event_bus
      event_pattern       = local.capture_event_pattern
      schedule_expression = null
    }
  } : {}

  # Every Lambda function, keyed by a stable name. Each has one rule that
  # triggers it (a pattern on the custom bus or a schedule on the default bus),
  # a dead-letter queue and a log group; the resource module creates them all
  # with for_each over this map.
  functions = {
    for key, f in merge(local.ingest_functions, local.settle_function, local.capture_function) : key => merge(f, {
      environment            = tomap(f.environment)
      rule_name              = f.function_name
      dead_letter_queue_name = "${f.function_name}-dlq"
      log_group_name         = "/aws/lambda/${f.function_name}"
    })
  }

  # Names AWS caps at 64 characters (Lambda functions, IAM roles, rules).
  long_function_names = [for f in local.functions : f.function_name if length(f.function_name) > 64]
  duplicate_slugs     = length(distinct(values(local.slug))) != length(local.slug)
}
