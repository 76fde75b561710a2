locals {
  slos = try(local.catalog.slos, [])

  # A percentage as CloudWatch statistic names spell it: 10, 0.5, 99.9.
  # (format first: arithmetic such as 100 - 99.9 is not exact in binary.)
  percent_text = { for s in local.slos : s.name => {
    objective  = replace(format("%.2f", s.objective), "/\\.?0+$/", "")
    complement = replace(format("%.2f", 100 - s.objective), "/\\.?0+$/", "")
  } }

  good_when_text = { at_most = "at most", at_least = "at least" }

  # The statistic that reads a metric the way its kind means it: durations as
  # the percentile their SLO is stated in, counts summed, occurrences at their
  # maximum, values and ratios averaged. The kinds are defined in Rust
  # (flight-core's catalog/kind.rs, `MetricKind::statistic`); this table has
  # no default, so an unknown kind fails the plan, and
  # lambdas/flightctl/tests/catalog_agreement.rs checks both agree. A catalog
  # may leave `metrics` out, as Rust allows.
  kind_statistic = {
    duration    = "slo_percentile"
    count       = "Sum"
    occurrences = "Maximum"
    value       = "Average"
    ratio       = "Average"
  }

  metrics = {
    for m in try(local.catalog.metrics, []) : m.name => {
      name         = m.name
      kind         = m.kind
      unit         = m.unit
      description  = try(m.description, "")
      partition_by = try(m.partition_by, [])
      slos         = [for s in local.slos : s.name if s.metric == m.name]
      statistic = (
        local.kind_statistic[m.kind] == "slo_percentile"
        ? "p${try([for s in local.slos : local.percent_text[s.name].objective if s.metric == m.name && s.good_when == "at_most"][0], "90")}"
        : local.kind_statistic[m.kind]
      )
    }
  }

  # Operational alarms: any error, throttle or dead letter of a function, and
  # any late or rejected event of a type, notify someone. They share these
  # settings: any occurrence within five minutes raises a ticket.
  operational_alarm_defaults = {
    severity            = "ticket"
    statistic           = "Sum"
    extended_statistic  = null
    comparison_operator = "GreaterThanThreshold"
    threshold           = 0
    period              = 300
    evaluation_periods  = 1
    treat_missing_data  = "notBreaching"
  }

  function_alarms = merge([
    for key, f in local.functions : {
      "${key}-errors" = merge(local.operational_alarm_defaults, {
        alarm_name  = "${f.function_name}-errors"
        description = "${f.function_name} returned errors; EventBridge and Lambda retry, then dead-letter."
        namespace   = "AWS/Lambda"
        metric_name = "Errors"
        dimensions  = tomap({ FunctionName = f.function_name })
      })
      "${key}-throttles" = merge(local.operational_alarm_defaults, {
        alarm_name  = "${f.function_name}-throttles"
        description = "${f.function_name} was throttled: its reserved concurrency is too low for the load."
        namespace   = "AWS/Lambda"
        metric_name = "Throttles"
        dimensions  = tomap({ FunctionName = f.function_name })
      })
      "${key}-dead-letters" = merge(local.operational_alarm_defaults, {
        alarm_name  = "${f.dead_letter_queue_name}-depth"
        description = "Events that ${f.function_name} could not process are waiting in ${f.dead_letter_queue_name}; inspect and redrive them."
        severity    = "page"
        namespace   = "AWS/SQS"
        metric_name = "ApproximateNumberOfMessagesVisible"
        dimensions  = tomap({ QueueName = f.dead_letter_queue_name })
        statistic   = "Maximum"
      })
    }
  ]...)

  # LateEvents and RejectedEvents are Flight Controller's own metrics, one
  # series per event type (dimensions Environment and EventType).
  event_type_metrics = {
    LateEvents = {
      alarm_suffix = "late-events"
      meaning      = "arrived after their lateness window closed; they are stored but did not change published data points"
    }
    RejectedEvents = {
      alarm_suffix = "rejected-events"
      meaning      = "were rejected as invalid and sent to the dead-letter queue"
    }
  }

  event_type_alarms = merge([
    for name, t in local.event_types : {
      for metric, m in local.event_type_metrics : "${m.alarm_suffix}-${t.slug}" => merge(local.operational_alarm_defaults, {
        alarm_name  = "${local.prefix}-${m.alarm_suffix}-${t.slug}"
        description = "${name} events ${m.meaning}."
        namespace   = local.namespace
        metric_name = metric
        dimensions  = tomap({ Environment = var.environment, EventType = name })
      })
    }
  ]...)

  # RefusedDataPoints counts the data points CloudWatch refused on their own
  # (one series per metric, dimensions Environment and Metric, with an
  # Environment-only rollup that adds them all up): they are recorded as
  # refused in the event store and the rest of their chunk is published.
  refused_alarms = {
    "refused-data-points" = merge(local.operational_alarm_defaults, {
      alarm_name  = "${local.prefix}-refused-data-points"
      description = "CloudWatch refused data points on their own; they are recorded as refused in the event store, and the settle logs hold CloudWatch's message."
      namespace   = local.namespace
      metric_name = "RefusedDataPoints"
      dimensions  = tomap({ Environment = var.environment })
    })
    # OverBudgetSeries counts data points published under Environment alone
    # because their metric's series_budget (distinct partitions) was spent.
    "over-budget-series" = merge(local.operational_alarm_defaults, {
      alarm_name  = "${local.prefix}-over-budget-series"
      description = "A partitioned metric spent its series_budget: new partitions are published under Environment alone; the Metric dimension of OverBudgetSeries names it."
      namespace   = local.namespace
      metric_name = "OverBudgetSeries"
      dimensions  = tomap({ Environment = var.environment })
    })
  }

  operational_alarms = merge(local.function_alarms, local.event_type_alarms, local.refused_alarms)

  # Catalog mistakes that would otherwise surface as AWS API errors.
  slo_errors = concat(
    [for s in local.slos : "SLO ${s.name}: metric ${s.metric} is not in the catalog" if !contains(keys(local.metrics), s.metric)],
    [for s in local.slos : "SLO ${s.name}: objective must be above 0 and below 100" if !(s.objective > 0 && s.objective < 100)],
    [for s in local.slos : "SLO ${s.name}: good_when must be at_most or at_least" if !contains(keys(local.good_when_text), s.good_when)],
    [for s in local.slos : "SLO ${s.name}: severity must be one of ${join(", ", local.severities)}" if !contains(local.severities, local.slo_severity[s.name])],
    [for s in local.slos : "SLO ${s.name}: threshold must be a number of 0 or more" if !(can(s.threshold + 0) && try(s.threshold >= 0, false))],
    local.alerting_errors,
  )
}
