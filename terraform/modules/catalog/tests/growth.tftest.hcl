# Adding an event type, a metric and its SLO to a catalog adds a function, a
# rule, operational alarms, the SLO's burn-rate and composite alarms and
# dashboard graphs, and changes nothing that already existed:
# the two runs differ only in the catalog file.

variables {
  environment = "dev"
  region      = "us-east-1"
}

run "base" {
  command = plan

  variables {
    catalog_path = "tests/fixtures/orders.yaml"
  }

  assert {
    condition     = keys(output.functions) == ["ingest-order-placed", "ingest-order-shipped", "settle"]
    error_message = "Unexpected functions: ${jsonencode(keys(output.functions))}"
  }
}

run "grown" {
  command = plan

  variables {
    catalog_path = "tests/fixtures/orders-grown.yaml"
  }

  assert {
    condition     = setsubtract(keys(output.functions), keys(run.base.functions)) == toset(["ingest-order-delivered"])
    error_message = "The new event type must add exactly its ingest function."
  }

  assert {
    condition     = output.functions["ingest-order-delivered"].rule_name == "flight-controller-dev-ingest-order-delivered"
    error_message = "The new function must have its rule."
  }

  assert {
    condition = jsondecode(output.event_patterns["OrderDelivered"])["$or"][0].detail.event_type == [
      "OrderDelivered", "order_delivered", "Delivered",
    ]
    error_message = "The new rule must match the new type and its aliases."
  }

  assert {
    # window_hours 168 (legacy): a 7-day period; 99.5 % caps every factor at 100.
    # 168 h / 1 h x 2 % = 3.36, 28 x 5 % = 1.4, 2.33 x 10 % = 0.23.
    condition = setsubtract(keys(output.slo_window_alarms), keys(run.base.slo_window_alarms)) == toset([
      "flight-controller-dev-slo-delivery-lead-time-burn-1h-x3.36",
      "flight-controller-dev-slo-delivery-lead-time-burn-15m-x3.36",
      "flight-controller-dev-slo-delivery-lead-time-burn-6h-x1.4",
      "flight-controller-dev-slo-delivery-lead-time-burn-30m-x1.4",
      "flight-controller-dev-slo-delivery-lead-time-burn-3d-x0.23",
      "flight-controller-dev-slo-delivery-lead-time-burn-6h-x0.23",
    ])
    error_message = "The new SLO must add exactly its burn-rate alarms: ${jsonencode(setsubtract(keys(output.slo_window_alarms), keys(run.base.slo_window_alarms)))}"
  }

  assert {
    # severity: ticket sends its pages to the ticket topic: one composite.
    condition     = setsubtract(keys(output.slo_composite_alarms), keys(run.base.slo_composite_alarms)) == toset(["flight-controller-dev-slo-delivery-lead-time-ticket"])
    error_message = "The new SLO must add exactly its composite alarm."
  }

  assert {
    condition = alltrue([
      for a in output.slo_window_alarms : a.good_statistic == "PR(:259200)" && a.expression == "IF(n >= 3, (100 - good) / 0.5, 0)" && a.metric_name == "DeliveryLeadTime"
      if a.slo == "delivery-lead-time"
    ])
    error_message = "delivery-lead-time: ${jsonencode([for a in output.slo_window_alarms : a if a.slo == "delivery-lead-time"])}"
  }

  assert {
    condition = setsubtract(keys(output.operational_alarms), keys(run.base.operational_alarms)) == toset([
      "ingest-order-delivered-errors",
      "ingest-order-delivered-throttles",
      "ingest-order-delivered-dead-letters",
      "late-events-order-delivered",
      "rejected-events-order-delivered",
    ])
    error_message = "The new event type must add its errors, throttles, dead-letter, late and rejected alarms."
  }

  assert {
    condition     = length(jsondecode(output.dashboard_body).widgets) == length(jsondecode(run.base.dashboard_body).widgets) + 3
    error_message = "The new metric must add one dashboard graph, and its SLO a budget and a burn-rate graph."
  }

  assert {
    condition = contains([
      for w in jsondecode(output.dashboard_body).widgets : w.properties.title
    ], "DeliveryLeadTime (p99.5)")
    error_message = "The new metric's graph must read it at its SLO percentile."
  }

  assert {
    condition = alltrue(concat(
      [for key, f in run.base.functions : output.functions[key] == f],
      [for key, a in run.base.slo_window_alarms : output.slo_window_alarms[key] == a],
      [for key, a in run.base.slo_composite_alarms : output.slo_composite_alarms[key] == a],
      [for key, a in run.base.operational_alarms : output.operational_alarms[key] == a],
    ))
    error_message = "Growing the catalog must leave the existing functions and alarms unchanged."
  }
}
