# Burn-rate alarms as the catalog states them (tests/fixtures/alerting.yaml):
# factors from budget_spent scaled to the period and capped at half the
# highest burn, explicit factors as written, names, the good statistic and
# the burn-rate expression, composite alarms per severity, the SLO severity
# cap, and the lateness window (docs/alerting.md).

variables {
  catalog_path = "tests/fixtures/alerting.yaml"
  environment  = "dev"
  region       = "us-east-1"
}

run "default_rules_over_the_default_28_day_period" {
  command = plan

  assert {
    # 28 d: 672 h / 1 h x 2 % = 13.44, 112 / 6 x 5 % = 5.6 (4 windows), 9.33 x 10 % = 0.93.
    condition = toset([for a in output.slo_window_alarms : a.alarm_name if a.slo == "job-time"]) == toset([
      "flight-controller-dev-slo-job-time-burn-1h-x13.44",
      "flight-controller-dev-slo-job-time-burn-15m-x13.44",
      "flight-controller-dev-slo-job-time-burn-6h-x5.6",
      "flight-controller-dev-slo-job-time-burn-30m-x5.6",
      "flight-controller-dev-slo-job-time-burn-3d-x0.93",
      "flight-controller-dev-slo-job-time-burn-6h-x0.93",
    ])
    error_message = "job-time's window alarms: ${jsonencode([for a in output.slo_window_alarms : a.alarm_name if a.slo == "job-time"])}"
  }

  assert {
    condition = output.slo_window_alarms["flight-controller-dev-slo-job-time-burn-1h-x13.44"] == {
      alarm_name         = "flight-controller-dev-slo-job-time-burn-1h-x13.44"
      slo                = "job-time"
      metric_name        = "JobTime"
      namespace          = "AlertingTest"
      dimensions         = tomap({ Environment = "dev" })
      window_seconds     = 3600
      factor             = 13.44
      min_values         = 5
      budget_percent     = 1
      good_statistic     = "PR(:600)"
      expression         = "IF(n >= 5, (100 - good) / 1, 0)"
      treat_missing_data = "notBreaching"
    }
    error_message = "The 1 h alarm: ${jsonencode(output.slo_window_alarms["flight-controller-dev-slo-job-time-burn-1h-x13.44"])}"
  }

  assert {
    condition = jsonencode(output.slo_composite_alarms["flight-controller-dev-slo-job-time-page"]) == jsonencode({
      alarm_name = "flight-controller-dev-slo-job-time-page"
      slo        = "job-time"
      severity   = "page"
      pairs = [
        ["flight-controller-dev-slo-job-time-burn-1h-x13.44", "flight-controller-dev-slo-job-time-burn-15m-x13.44"],
        ["flight-controller-dev-slo-job-time-burn-6h-x5.6", "flight-controller-dev-slo-job-time-burn-30m-x5.6"],
      ]
      rule = join(" OR ", [
        "(ALARM(\"flight-controller-dev-slo-job-time-burn-1h-x13.44\") AND ALARM(\"flight-controller-dev-slo-job-time-burn-15m-x13.44\"))",
        "(ALARM(\"flight-controller-dev-slo-job-time-burn-6h-x5.6\") AND ALARM(\"flight-controller-dev-slo-job-time-burn-30m-x5.6\"))",
      ])
    })
    error_message = "job-time's page: ${jsonencode(output.slo_composite_alarms["flight-controller-dev-slo-job-time-page"])}"
  }

  assert {
    condition     = jsonencode(output.slo_composite_alarms["flight-controller-dev-slo-job-time-ticket"].pairs) == jsonencode([["flight-controller-dev-slo-job-time-burn-3d-x0.93", "flight-controller-dev-slo-job-time-burn-6h-x0.93"]])
    error_message = "job-time's ticket pairs the 3 d and 6 h windows."
  }
}

run "a_calendar_month_scales_as_30_days_and_a_ticket_slo_never_pages" {
  command = plan

  assert {
    # 720 h / 1 h x 2 % = 14.4, 120 x 5 % = 6, 10 x 10 % = 1; 99.9 % leaves a 0.1 % budget.
    condition = (
      output.slo_window_alarms["flight-controller-dev-slo-job-time-monthly-burn-1h-x14.4"].expression == "IF(n >= 5, (100 - good) / 0.1, 0)" &&
      output.slo_window_alarms["flight-controller-dev-slo-job-time-monthly-burn-1h-x14.4"].budget_percent == 0.1 &&
      output.slo_window_alarms["flight-controller-dev-slo-job-time-monthly-burn-1h-x14.4"].good_statistic == "PR(:0.5)" &&
      contains(keys(output.slo_window_alarms), "flight-controller-dev-slo-job-time-monthly-burn-30m-x6") &&
      contains(keys(output.slo_window_alarms), "flight-controller-dev-slo-job-time-monthly-burn-3d-x1")
    )
    error_message = "job-time-monthly: ${jsonencode([for a in output.slo_window_alarms : a if a.slo == "job-time-monthly"])}"
  }

  assert {
    condition = (
      !contains(keys(output.slo_composite_alarms), "flight-controller-dev-slo-job-time-monthly-page") &&
      length(output.slo_composite_alarms["flight-controller-dev-slo-job-time-monthly-ticket"].pairs) == 3 &&
      jsonencode(output.slo_composite_alarms["flight-controller-dev-slo-job-time-monthly-ticket"].pairs[0]) == jsonencode([
        "flight-controller-dev-slo-job-time-monthly-burn-1h-x14.4", "flight-controller-dev-slo-job-time-monthly-burn-15m-x14.4",
      ])
    )
    error_message = "severity: ticket sends every rule, the pages first, to one ticket composite."
  }
}

run "an_slo_with_its_own_rules_and_an_inclusive_lower_threshold" {
  command = plan

  assert {
    # The explicit factor 8 as written; 7 d / 1 d x 50 % = 3.5; min_values 1 from the SLO.
    condition = toset([for a in output.slo_window_alarms : "${a.alarm_name} ${a.window_seconds} ${a.factor} ${a.min_values}" if a.slo == "job-score"]) == toset([
      "flight-controller-dev-slo-job-score-burn-90m-x8 5400 8 1",
      "flight-controller-dev-slo-job-score-burn-15m-x8 900 8 1",
      "flight-controller-dev-slo-job-score-burn-1d-x3.5 86400 3.5 1",
      "flight-controller-dev-slo-job-score-burn-2h-x3.5 7200 3.5 1",
    ])
    error_message = "job-score: ${jsonencode([for a in output.slo_window_alarms : a if a.slo == "job-score"])}"
  }

  assert {
    # PR(n:m) counts (n, m]: at least 0.5 is above the bound just below it.
    condition     = alltrue([for a in output.slo_window_alarms : a.good_statistic == "PR(0.4999999999:)" && a.expression == "IF(n >= 1, (100 - good) / 10, 0)" if a.slo == "job-score"])
    error_message = "An at_least SLO counts values from its threshold, inclusive, as good."
  }

  assert {
    condition = output.slo_composite_alarms["flight-controller-dev-slo-job-score-page"].rule == (
      "(ALARM(\"flight-controller-dev-slo-job-score-burn-90m-x8\") AND ALARM(\"flight-controller-dev-slo-job-score-burn-15m-x8\"))"
    )
    error_message = "job-score's page rule: ${output.slo_composite_alarms["flight-controller-dev-slo-job-score-page"].rule}"
  }
}

run "the_catalogs_lateness_window_reaches_the_ingest_functions" {
  command = plan

  assert {
    condition     = output.lateness_window_seconds == 120 && output.functions["ingest-job-started"].environment["LATENESS_WINDOW_SECONDS"] == "120"
    error_message = "alerting.lateness_window 2m is 120 s, in the output and the ingest functions."
  }
}

run "the_lateness_variable_overrides_the_catalog_for_the_functions" {
  command = plan

  variables {
    lateness_window_seconds = 2
  }

  assert {
    condition     = output.lateness_window_seconds == 120 && output.functions["ingest-job-started"].environment["LATENESS_WINDOW_SECONDS"] == "2"
    error_message = "The variable sets the functions' lateness window; the output stays the catalog's."
  }
}

run "rules_that_share_a_window_and_factor_share_its_alarm" {
  command = plan

  variables {
    catalog_yaml = <<-YAML
      namespace: Shared
      event_types: [{ name: A }, { name: B }]
      metrics: [{ name: T, kind: duration, start: A, end: B, unit: Seconds }]
      slos:
        - { name: t, metric: T, objective: 95, threshold: 1, good_when: at_most, period: 7d,
            alerting: { rules: [
              { severity: page, long_window: 2h, short_window: 30m, factor: 4 },
              { severity: ticket, long_window: 6h, short_window: 30m, factor: 4 } ] } }
    YAML
  }

  assert {
    condition     = length(output.slo_window_alarms) == 3 && jsonencode(output.slo_composite_alarms["flight-controller-dev-slo-t-ticket"].pairs) == jsonencode([["flight-controller-dev-slo-t-burn-6h-x4", "flight-controller-dev-slo-t-burn-30m-x4"]])
    error_message = "Two rules with the 30 m window at x4 need one 30 m alarm: ${jsonencode(keys(output.slo_window_alarms))}"
  }
}
