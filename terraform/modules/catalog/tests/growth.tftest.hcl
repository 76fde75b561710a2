# Adding an event type and a metric to a catalog adds a function, a rule,
# alarms and a dashboard graph, and changes nothing that already existed:
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
    condition     = setsubtract(keys(output.slo_alarms), keys(run.base.slo_alarms)) == toset(["slo-delivery-lead-time"])
    error_message = "The new SLO must add exactly its alarm."
  }

  assert {
    condition     = output.slo_alarms["slo-delivery-lead-time"].extended_statistic == "PR(:259200)" && output.slo_alarms["slo-delivery-lead-time"].threshold == 99.5
    error_message = "delivery-lead-time: ${jsonencode(output.slo_alarms["slo-delivery-lead-time"])}"
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
    condition     = length(jsondecode(output.dashboard_body).widgets) == length(jsondecode(run.base.dashboard_body).widgets) + 1
    error_message = "The new metric must add one dashboard graph."
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
      [for key, a in run.base.slo_alarms : output.slo_alarms[key] == a],
      [for key, a in run.base.operational_alarms : output.operational_alarms[key] == a],
    ))
    error_message = "Growing the catalog must leave the existing functions and alarms unchanged."
  }
}
