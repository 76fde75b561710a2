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
      for a in merge(output.slo_alarms, output.operational_alarms) : startswith(a.alarm_name, "flight-controller-prod-")
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

run "slo_alarms_use_percentile_rank_over_the_catalog_window" {
  command = plan

  assert {
    condition = (
      output.slo_alarms["slo-project-lead-time"].extended_statistic == "PR(:259200)" &&
      output.slo_alarms["slo-project-lead-time"].comparison_operator == "LessThanThreshold" &&
      output.slo_alarms["slo-project-lead-time"].threshold == 90 &&
      output.slo_alarms["slo-project-lead-time"].period == 168 * 3600 &&
      output.slo_alarms["slo-project-lead-time"].severity == "ticket" &&
      output.slo_alarms["slo-project-lead-time"].treat_missing_data == "notBreaching" &&
      output.slo_alarms["slo-project-lead-time"].dimensions == tomap({ Environment = "prod" })
    )
    error_message = "project-lead-time: ${jsonencode(output.slo_alarms["slo-project-lead-time"])}"
  }

  assert {
    # 90 % of values at least 95: alarm when the 10th percentile drops below 95.
    condition = (
      output.slo_alarms["slo-patch-compliance"].extended_statistic == "p10" &&
      output.slo_alarms["slo-patch-compliance"].threshold == 95 &&
      output.slo_alarms["slo-patch-compliance"].severity == "page"
    )
    error_message = "patch-compliance: ${jsonencode(output.slo_alarms["slo-patch-compliance"])}"
  }

  assert {
    condition     = length(output.slo_alarms) == length(yamldecode(file(var.catalog_path)).slos)
    error_message = "Expected one alarm per SLO."
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
