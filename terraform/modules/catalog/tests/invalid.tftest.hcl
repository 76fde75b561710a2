# Catalog entries that AWS would refuse fail the plan with a message that
# names them, instead of failing half-way through an apply.

variables {
  environment = "dev"
  region      = "us-east-1"
}

run "slos_cloudwatch_cannot_alarm_on" {
  command = plan

  variables {
    catalog_path = "tests/fixtures/broken-slos.yaml"
  }

  expect_failures = [output.slo_window_alarms, output.slo_composite_alarms]
}

# Alert policies that could never alert as written, or that CloudWatch refuses.
run "a_factor_the_slo_can_never_reach" {
  command = plan

  variables {
    # At 90 % the highest burn rate is 10.
    catalog_yaml = <<-YAML
      namespace: Policy
      event_types: [{ name: A }, { name: B }]
      metrics: [{ name: T, kind: duration, start: A, end: B, unit: Seconds }]
      slos:
        - { name: t, metric: T, objective: 90, threshold: 1, good_when: at_most,
            alerting: { rules: [{ severity: page, long_window: 1h, short_window: 15m, factor: 10 }] } }
    YAML
  }

  expect_failures = [output.slo_window_alarms, output.slo_composite_alarms]
}

run "a_short_window_the_publishing_delay_leaves_mostly_empty" {
  command = plan

  variables {
    # 5 m + 1 m of delay: a short window needs 12 m.
    catalog_yaml = <<-YAML
      namespace: Policy
      event_types: [{ name: A }, { name: B }]
      metrics: [{ name: T, kind: duration, start: A, end: B, unit: Seconds }]
      alerting:
        rules: [{ severity: page, long_window: 1h, short_window: 5m, budget_spent: 2 }]
      slos:
        - { name: t, metric: T, objective: 95, threshold: 1, good_when: at_most }
    YAML
  }

  expect_failures = [output.slo_window_alarms, output.slo_composite_alarms]
}

run "a_long_window_over_seven_days" {
  command = plan

  variables {
    catalog_yaml = <<-YAML
      namespace: Policy
      event_types: [{ name: A }, { name: B }]
      metrics: [{ name: T, kind: duration, start: A, end: B, unit: Seconds }]
      slos:
        - { name: t, metric: T, objective: 95, threshold: 1, good_when: at_most,
            alerting: { rules: [{ severity: ticket, long_window: 8d, short_window: 6h, budget_spent: 10 }] } }
    YAML
  }

  expect_failures = [output.slo_window_alarms, output.slo_composite_alarms]
}

run "a_rule_with_both_budget_spent_and_factor" {
  command = plan

  variables {
    catalog_yaml = <<-YAML
      namespace: Policy
      event_types: [{ name: A }, { name: B }]
      metrics: [{ name: T, kind: duration, start: A, end: B, unit: Seconds }]
      slos:
        - { name: t, metric: T, objective: 95, threshold: 1, good_when: at_most,
            alerting: { rules: [{ severity: page, long_window: 1h, short_window: 15m, budget_spent: 2, factor: 3 }] } }
    YAML
  }

  expect_failures = [output.slo_window_alarms, output.slo_composite_alarms]
}

run "a_period_shorter_than_a_long_window" {
  command = plan

  variables {
    # The SLO's own ticket rule watches 3 days, longer than its 1-day period
    # (a catalog-wide rule that long would just not apply to it).
    catalog_yaml = <<-YAML
      namespace: Policy
      event_types: [{ name: A }, { name: B }]
      metrics: [{ name: T, kind: duration, start: A, end: B, unit: Seconds }]
      slos:
        - name: t
          metric: T
          objective: 95
          threshold: 1
          good_when: at_most
          window_hours: 24
          alerting:
            rules: [{ severity: ticket, long_window: 3d, short_window: 6h, budget_spent: 10 }]
    YAML
  }

  expect_failures = [output.slo_window_alarms, output.slo_composite_alarms]
}

run "a_period_and_window_hours_together" {
  command = plan

  variables {
    catalog_yaml = <<-YAML
      namespace: Policy
      event_types: [{ name: A }, { name: B }]
      metrics: [{ name: T, kind: duration, start: A, end: B, unit: Seconds }]
      slos:
        - { name: t, metric: T, objective: 95, threshold: 1, good_when: at_most, period: 7d, window_hours: 168 }
    YAML
  }

  expect_failures = [output.slo_window_alarms, output.slo_composite_alarms]
}

run "function_names_longer_than_aws_allows" {
  command = plan

  variables {
    name_prefix  = "flight-ctl-platform-team"
    environment  = "integration"
    catalog_yaml = <<-YAML
      namespace: LongNames
      event_types:
        - name: ResourceFoundNonCompliantAfterRemediation
      metrics: []
    YAML
  }

  expect_failures = [output.functions]
}

run "event_types_whose_names_collide" {
  command = plan

  variables {
    catalog_yaml = <<-YAML
      namespace: Collisions
      event_types:
        - name: OrderPlaced
        - name: Order_Placed
      metrics: []
    YAML
  }

  expect_failures = [output.functions]
}
