# Plans the whole module against a mocked AWS provider (Terraform 1.7+): no
# credentials and no AWS calls, but the provider's real schema, so it needs
# the hashicorp/aws provider installed (terraform init -plugin-dir=...).
# The Lambda zips must exist: build them (scripts/build.sh), or pass
# -var=lambda_zip_dir=DIR with placeholder ingest.zip, settle.zip, capture.zip.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  catalog_path = "../../../events/catalog.yaml"
}

run "production" {
  command = plan

  variables {
    environment = "prod"
  }

  assert {
    condition     = length(aws_lambda_function.this) == length(yamldecode(file(var.catalog_path)).event_types) + 1
    error_message = "Expected one ingest function per event type, and settle."
  }

  assert {
    condition = alltrue(flatten([
      for key, f in module.catalog.functions : [
        aws_lambda_function.this[key].function_name == f.function_name,
        aws_cloudwatch_event_rule.function[key].name == f.rule_name,
        aws_cloudwatch_event_rule.function[key].event_pattern == f.event_pattern,
        aws_cloudwatch_event_target.function[key].rule == f.rule_name,
        aws_sqs_queue.dead_letter[key].name == f.dead_letter_queue_name,
        aws_cloudwatch_log_group.function[key].name == f.log_group_name,
        aws_iam_role.function[key].name == f.function_name,
        aws_lambda_function.this[key].environment[0].variables == f.environment,
      ]
    ]))
    error_message = "Every function of the catalog needs its function, rule, target, dead-letter queue, log group and role."
  }

  assert {
    condition = (
      aws_lambda_function.this["ingest-project-requested"].runtime == "provided.al2023" &&
      aws_lambda_function.this["ingest-project-requested"].architectures == tolist(["arm64"]) &&
      aws_lambda_function.this["ingest-project-requested"].handler == "bootstrap" &&
      aws_lambda_function.this["ingest-project-requested"].reserved_concurrent_executions == 5 &&
      aws_lambda_function.this["settle"].reserved_concurrent_executions == 1
    )
    error_message = "Functions must follow the build contract; settle runs one at a time."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.function["settle"].schedule_expression == "rate(1 minute)" && aws_cloudwatch_event_rule.function["settle"].event_bus_name == "default"
    error_message = "settle must be scheduled every minute on the default bus."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 3 * length(module.catalog.functions) + 2 * length(module.catalog.event_types) + 2
    error_message = "Expected three operational alarms per function, two per event type, one for refused data points and one for series over budget."
  }

  assert {
    condition = (
      keys(aws_cloudwatch_metric_alarm.slo_window) == keys(module.catalog.slo_window_alarms) &&
      keys(aws_cloudwatch_composite_alarm.slo) == keys(module.catalog.slo_composite_alarms)
    )
    error_message = "Every burn-rate and composite alarm of the catalog module must be created."
  }

  assert {
    condition = alltrue([
      for key, a in module.catalog.slo_window_alarms : (
        aws_cloudwatch_metric_alarm.slo_window[key].threshold == a.factor &&
        aws_cloudwatch_metric_alarm.slo_window[key].comparison_operator == "GreaterThanThreshold" &&
        aws_cloudwatch_metric_alarm.slo_window[key].evaluation_periods == 1 &&
        aws_cloudwatch_metric_alarm.slo_window[key].datapoints_to_alarm == 1 &&
        aws_cloudwatch_metric_alarm.slo_window[key].treat_missing_data == "notBreaching" &&
        length(coalesce(aws_cloudwatch_metric_alarm.slo_window[key].alarm_actions, [])) == 0 &&
        length(coalesce(aws_cloudwatch_metric_alarm.slo_window[key].ok_actions, [])) == 0 &&
        toset([for q in aws_cloudwatch_metric_alarm.slo_window[key].metric_query : q.id]) == toset(["good", "n", "burn"]) &&
        alltrue([
          for q in aws_cloudwatch_metric_alarm.slo_window[key].metric_query : (
            q.id == "burn"
            ? q.expression == a.expression && q.return_data && length(q.metric) == 0
            : (
              q.metric[0].stat == (q.id == "good" ? a.good_statistic : "SampleCount") &&
              q.metric[0].period == a.window_seconds &&
              q.metric[0].metric_name == a.metric_name &&
              q.metric[0].dimensions == a.dimensions &&
              !q.return_data
            )
          )
        ])
      )
    ])
    error_message = "Each burn-rate alarm watches its expression over its window, above its factor, with no actions."
  }

  assert {
    condition = [
      for q in aws_cloudwatch_metric_alarm.slo_window["flight-controller-prod-slo-project-lead-time-burn-3d-x0.93"].metric_query : "${q.metric[0].stat} ${q.metric[0].period}" if q.id == "good"
    ] == ["PR(:259200) 259200"]
    error_message = "project-lead-time's ticket alarm reads the percentile rank of 3 days at 259200 s."
  }

  assert {
    condition = alltrue([
      for key, c in module.catalog.slo_composite_alarms : (
        aws_cloudwatch_composite_alarm.slo[key].alarm_rule == c.rule &&
        aws_cloudwatch_composite_alarm.slo[key].actions_enabled &&
        length(aws_cloudwatch_composite_alarm.slo[key].alarm_actions) == 1 &&
        length(aws_cloudwatch_composite_alarm.slo[key].ok_actions) == 1
      )
    ])
    error_message = "Each composite alarm notifies its severity's topic on ALARM and OK."
  }

  assert {
    condition     = aws_dynamodb_table.events.deletion_protection_enabled && length(aws_dynamodb_table.capture) == 0 && length(aws_sns_topic_subscription.alerts) == 0
    error_message = "Production keeps its event store and has no capture table."
  }
}

run "development" {
  command = plan

  variables {
    environment         = "dev"
    enable_capture      = true
    deletion_protection = false
    alert_subscriptions = {
      page = [{ protocol = "email", endpoint = "oncall@example.com" }]
    }
  }

  assert {
    condition     = length(aws_dynamodb_table.capture) == 1 && aws_lambda_function.this["capture"].environment[0].variables["CAPTURE_TABLE_NAME"] == "flight-controller-dev-capture"
    error_message = "Development has the capture table and function."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.function["capture"].event_bus_name == "flight-controller-dev"
    error_message = "The capture rule listens on the custom bus."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.alerts) == 1 && aws_sns_topic_subscription.alerts["page email oncall@example.com"].protocol == "email"
    error_message = "Subscriptions come from alert_subscriptions."
  }
}

# On an account with a small concurrency quota every function can be left
# unreserved, settle included (its sweeps are exactly-once through their
# claims; see the module README).
run "unreserved" {
  command = plan

  variables {
    environment      = "dev"
    enable_capture   = true
    ingest_function  = { reserved_concurrency = -1 }
    settle_function  = { reserved_concurrency = -1 }
    capture_function = { reserved_concurrency = -1 }
  }

  assert {
    condition     = alltrue([for f in aws_lambda_function.this : f.reserved_concurrent_executions == -1])
    error_message = "reserved_concurrency = -1 must leave every function unreserved."
  }

  assert {
    condition     = aws_lambda_function.this["ingest-project-requested"].memory_size == 128 && aws_lambda_function.this["settle"].timeout == 60
    error_message = "Leaving concurrency unreserved keeps the other sizes' defaults."
  }
}

run "reserving_zero_is_refused" {
  command = plan

  variables {
    environment     = "dev"
    ingest_function = { reserved_concurrency = 0 }
  }

  expect_failures = [var.ingest_function]
}

# The lateness window comes from the catalog (alerting.lateness_window), the
# one the burn-rate alarms' short windows are chosen for, unless overridden.
run "lateness_window_from_the_catalog" {
  command = plan

  variables {
    environment = "dev"
  }

  assert {
    condition     = module.catalog.lateness_window_seconds == 300 && aws_lambda_function.this["ingest-project-requested"].environment[0].variables["LATENESS_WINDOW_SECONDS"] == "300"
    error_message = "The ingest functions wait the catalog's lateness window (5 minutes by default)."
  }
}

run "lateness_window_overridden" {
  command = plan

  variables {
    environment             = "dev"
    lateness_window_seconds = 600
  }

  assert {
    condition     = aws_lambda_function.this["ingest-project-requested"].environment[0].variables["LATENESS_WINDOW_SECONDS"] == "600"
    error_message = "lateness_window_seconds overrides the catalog's lateness window."
  }
}

# Settle scales out by sweep (docs/scale.md): settle_sweeps = n starts n
# invocations a minute, sweep i of n each; n divides the 64 due shards.
run "sixteen_settle_sweeps" {
  command = plan

  variables {
    environment     = "dev"
    settle_sweeps   = 16
    settle_function = { reserved_concurrency = 16 }
  }

  assert {
    condition     = length(aws_cloudwatch_event_rule.settle_sweep) == 15 && aws_cloudwatch_event_target.settle_sweep["15"].input == jsonencode({ sweep = 15, of = 16 }) && aws_cloudwatch_event_target.function["settle"].input == jsonencode({ sweep = 0, of = 16 })
    error_message = "16 sweeps: the settle rule takes sweep 0 of 16, 15 more rules the others."
  }
}

run "settle_sweeps_that_do_not_divide_the_shards_are_refused" {
  command = plan

  variables {
    environment     = "dev"
    settle_sweeps   = 48
    settle_function = { reserved_concurrency = 48 }
  }

  expect_failures = [var.settle_sweeps]
}
