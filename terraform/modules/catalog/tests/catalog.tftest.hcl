# The real catalog (events/catalog.yaml): every event type, metric and SLO in it
# becomes a function, a rule, alarms and a dashboard graph.

variables {
  catalog_path = "../../../events/catalog.yaml"
  environment  = "prod"
  region       = "eu-west-1"
}

run "every_event_type_gets_a_function_rule_and_alarms" {
  command = plan

  assert {
    condition = alltrue([
      for t in yamldecode(file(var.catalog_path)).event_types :
      contains(keys(output.event_patterns), t.name) &&
      output.functions["ingest-${output.event_types[t.name].slug}"].event_type == t.name &&
      output.functions["ingest-${output.event_types[t.name].slug}"].environment["EVENT_TYPE"] == t.name &&
      output.functions["ingest-${output.event_types[t.name].slug}"].event_pattern == output.event_patterns[t.name] &&
      alltrue([for suffix in ["errors", "throttles", "dead-letters"] : contains(keys(output.operational_alarms), "ingest-${output.event_types[t.name].slug}-${suffix}")]) &&
      alltrue([for prefix in ["late-events", "rejected-events"] : contains(keys(output.operational_alarms), "${prefix}-${output.event_types[t.name].slug}")])
    ])
    error_message = "Some catalog event type lacks its pattern, ingest function or operational alarms."
  }

  assert {
    condition     = length(output.functions) == length(yamldecode(file(var.catalog_path)).event_types) + 1
    error_message = "Expected one ingest function per event type plus settle (no capture in prod by default)."
  }

  assert {
    # The alert topics accept alarms whose names start with the prefix.
    condition = alltrue([
      for a in concat(values(output.slo_window_alarms), values(output.slo_composite_alarms), values(output.operational_alarms)) : startswith(a.alarm_name, "flight-controller-prod-")
    ])
    error_message = "Every alarm name must start with <prefix>-<environment>-."
  }

  assert {
    condition     = output.functions["ingest-resource-found-non-compliant"].function_name == "flight-controller-prod-ingest-resource-found-non-compliant"
    error_message = "Function names must be <prefix>-<environment>-ingest-<event type in kebab case>."
  }
}

run "patterns_match_the_name_or_an_alias_in_event_type_or_detail_type" {
  command = plan

  assert {
    condition = jsondecode(output.event_patterns["ProjectRequested"]) == {
      "$or" = [
        { detail = { event_type = ["ProjectRequested", "project_requested"] } },
        { "detail-type" = ["ProjectRequested", "project_requested"], detail = { event_type = [{ exists = false }] } },
      ]
    }
    error_message = "ProjectRequested's pattern: ${output.event_patterns["ProjectRequested"]}"
  }
}

run "ingest_and_settle_get_their_configuration" {
  command = plan

  variables {
    metrics_mode            = "emf"
    lateness_window_seconds = 600
  }

  assert {
    condition = output.functions["ingest-guardrail-passed"].environment == tomap({
      TABLE_NAME              = "flight-controller-prod-events"
      EVENT_TYPE              = "GuardrailPassed"
      ENVIRONMENT             = "prod"
      LATENESS_WINDOW_SECONDS = "600"
      LEASE_SECONDS           = "120"
      METRICS_MODE            = "emf"
      RUST_LOG                = "info"
    })
    error_message = "Unexpected ingest environment: ${jsonencode(output.functions["ingest-guardrail-passed"].environment)}"
  }

  assert {
    condition     = output.functions["settle"].schedule_expression == "rate(1 minute)" && output.functions["settle"].event_bus == "default" && output.functions["settle"].environment["LEASE_SECONDS"] == "120"
    error_message = "settle must run every minute from the default bus with LEASE_SECONDS."
  }
}

run "capture_is_wired_only_when_enabled" {
  command = plan

  variables {
    environment    = "dev"
    enable_capture = true
  }

  assert {
    condition     = output.functions["capture"].event_pattern == jsonencode({ detail = { test_run_id = [{ exists = true }] } })
    error_message = "The capture rule must match events carrying detail.test_run_id."
  }

  assert {
    condition = alltrue([
      for key, f in output.functions : f.environment["CAPTURE_TABLE_NAME"] == "flight-controller-dev-capture"
    ])
    error_message = "Every function must know the capture table when capture is enabled."
  }
}

run "every_slo_gets_burn_rate_alarms_over_its_period" {
  command = plan

  assert {
    # 90 %: the highest burn is 10, so no factor exceeds 5 (half of it).
    condition = toset([for a in output.slo_window_alarms : a.alarm_name if a.slo == "project-lead-time"]) == toset([
      "flight-controller-prod-slo-project-lead-time-burn-1h-x5",
      "flight-controller-prod-slo-project-lead-time-burn-15m-x5",
      "flight-controller-prod-slo-project-lead-time-burn-6h-x5",
      "flight-controller-prod-slo-project-lead-time-burn-30m-x5",
      "flight-controller-prod-slo-project-lead-time-burn-3d-x0.93",
      "flight-controller-prod-slo-project-lead-time-burn-6h-x0.93",
    ])
    error_message = "project-lead-time: ${jsonencode([for a in output.slo_window_alarms : a.alarm_name if a.slo == "project-lead-time"])}"
  }

  assert {
    condition = (
      output.slo_window_alarms["flight-controller-prod-slo-project-lead-time-burn-3d-x0.93"].good_statistic == "PR(:259200)" &&
      output.slo_window_alarms["flight-controller-prod-slo-project-lead-time-burn-3d-x0.93"].window_seconds == 3 * 86400 &&
      output.slo_window_alarms["flight-controller-prod-slo-project-lead-time-burn-3d-x0.93"].expression == "IF(n >= 3, (100 - good) / 10, 0)" &&
      output.slo_window_alarms["flight-controller-prod-slo-project-lead-time-burn-3d-x0.93"].dimensions == tomap({ Environment = "prod" })
    )
    error_message = "project-lead-time 3d: ${jsonencode(output.slo_window_alarms["flight-controller-prod-slo-project-lead-time-burn-3d-x0.93"])}"
  }

  assert {
    # 95 %: the 1 h factor 13.44 is capped at 10; the 6 h one (5.6) is not.
    condition = (
      contains(keys(output.slo_window_alarms), "flight-controller-prod-slo-guardrail-lead-time-burn-1h-x10") &&
      contains(keys(output.slo_window_alarms), "flight-controller-prod-slo-guardrail-lead-time-burn-6h-x5.6")
    )
    error_message = "guardrail-lead-time: ${jsonencode([for a in output.slo_window_alarms : a.alarm_name if a.slo == "guardrail-lead-time"])}"
  }

  assert {
    condition = alltrue([
      for a in output.slo_window_alarms : a.good_statistic == "PR(94.9999999999:)" if a.slo == "patch-compliance"
    ])
    error_message = "patch-compliance (at least 95) counts 95 itself as good."
  }

  assert {
    # A page SLO gets a page and a ticket composite, a ticket SLO one ticket composite.
    condition = tomap({
      for c in output.slo_composite_alarms : "${c.slo} ${c.severity}" => length(c.pairs)
      }) == merge([
      for s in yamldecode(file(var.catalog_path)).slos : s.severity == "page" ? { "${s.name} page" = 2, "${s.name} ticket" = 1 } : { "${s.name} ticket" = 3 }
    ]...)
    error_message = "Composite alarms: ${jsonencode({ for c in output.slo_composite_alarms : c.alarm_name => length(c.pairs) })}"
  }

  assert {
    condition     = length(output.slo_window_alarms) == 6 * length(yamldecode(file(var.catalog_path)).slos)
    error_message = "Expected six burn-rate alarms per SLO (the default rules' windows)."
  }

  assert {
    condition     = output.lateness_window_seconds == 300
    error_message = "The catalog's lateness window is the default 5 minutes."
  }
}

run "dashboard_has_a_graph_per_metric_with_its_statistic_and_threshold" {
  command = plan

  assert {
    condition = {
      for w in jsondecode(output.dashboard_body).widgets : w.properties.metrics[0][1] => w.properties.stat
      if can(w.properties.metrics[0][1])
      } == {
      ProjectAssignedLeadTime    = "p90"
      ProjectLeadTime            = "p90"
      GuardrailActivationCount   = "Sum"
      GuardrailLeadTime          = "p95"
      GuardrailMaxActivation     = "Maximum"
      AccountLeadTime            = "p90"
      IdentityLeadTime           = "p95"
      ResourceComplianceLeadTime = "p90"
      PatchCompliancePercentage  = "Average"
    }
    error_message = "Each catalog metric needs one graph with the statistic of its kind."
  }

  assert {
    condition = [
      for w in jsondecode(output.dashboard_body).widgets : w.properties.annotations.horizontal[0].value
      if try(w.properties.metrics[0][1], null) == "ProjectLeadTime"
    ] == [259200]
    error_message = "ProjectLeadTime's graph must draw its SLO threshold."
  }

  assert {
    condition = alltrue([
      for w in jsondecode(output.dashboard_body).widgets : w.properties.region == "eu-west-1"
    ])
    error_message = "Every graph must read the deployment's Region."
  }
}

run "refused_data_points_raise_a_ticket" {
  command = plan

  assert {
    condition = (
      output.operational_alarms["refused-data-points"].metric_name == "RefusedDataPoints" &&
      output.operational_alarms["refused-data-points"].dimensions == tomap({ Environment = "prod" }) &&
      output.operational_alarms["refused-data-points"].severity == "ticket" &&
      output.operational_alarms["refused-data-points"].threshold == 0
    )
    error_message = "Data points CloudWatch refuses must raise an alarm on RefusedDataPoints."
  }

  assert {
    condition = (
      output.operational_alarms["over-budget-series"].metric_name == "OverBudgetSeries" &&
      output.operational_alarms["over-budget-series"].dimensions == tomap({ Environment = "prod" })
    )
    error_message = "A metric over its series budget must raise an alarm on OverBudgetSeries."
  }
}
