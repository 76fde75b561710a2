locals {
  slo_by_name = { for s in local.slos : s.name => s }

  # A graph per catalog metric, its SLO thresholds drawn as horizontal lines
  # shading the side that breaks them. Partitioned metrics also get a line per
  # partition value, found with SEARCH.
  metric_widgets = [
    for name, m in local.metrics : {
      title = "${name} (${m.statistic})"
      metrics = concat(
        [[local.namespace, name, "Environment", var.environment, { label = length(m.partition_by) > 0 ? "all ${join(", ", m.partition_by)}" : name }]],
        length(m.partition_by) == 0 ? [] : [[{
          id         = "per_partition"
          expression = "SEARCH('{${local.namespace},Environment,${join(",", m.partition_by)}} MetricName=\"${name}\" Environment=\"${var.environment}\"', '${m.statistic}', ${var.dashboard_period_seconds})"
        }]],
      )
      stat = m.statistic
      unit = m.unit
      annotations = {
        horizontal = [
          for slo in m.slos : {
            label = "SLO ${slo}: ${local.percent_text[slo].objective}% ${try(local.good_when_text[local.slo_by_name[slo].good_when], "")} ${local.slo_by_name[slo].threshold} ${m.unit}"
            value = local.slo_by_name[slo].threshold
            fill  = local.slo_by_name[slo].good_when == "at_most" ? "above" : "below"
          }
        ]
      }
    }
  ]

  # Flight Controller's own health, one line per event type.
  event_type_widgets = [
    for metric, m in local.event_type_metrics : {
      title = "${metric} by event type"
      metrics = [[{
        id         = replace(m.alarm_suffix, "-", "_")
        expression = "SEARCH('{${local.namespace},Environment,EventType} MetricName=\"${metric}\" Environment=\"${var.environment}\"', 'Sum', ${var.dashboard_period_seconds})"
      }]]
      stat        = "Sum"
      unit        = "Count"
      annotations = { horizontal = [] }
    }
  ]

  # Per SLO, a row: its attainment and error budget left over its period
  # (a calendar period is shown over its nominal length, the last 30 or 7
  # days), and the burn rate over each window its alarms watch, with each
  # alarm's factor drawn as a line.
  slo_period_start = {
    for name, seconds in local.slo_period_seconds : name => try(seconds % 86400 == 0 ? "-P${seconds / 86400}D" : "-PT${floor(seconds / 3600)}H", "-P28D")
  }
  slo_windows = {
    for s in local.slos : s.name => sort(distinct([for a in local.slo_window_alarm_definitions : format("%07d", a.window_seconds) if a.slo == s.name]))
  }
  slo_widgets = flatten([
    for s in local.slos : [
      {
        type  = "metric"
        width = 8
        properties = {
          title = "SLO ${s.name}: ${local.percent_text[s.name].objective}% ${try(local.good_when_text[s.good_when], "")} ${s.threshold} ${try(local.metrics[s.metric].unit, "")}"
          metrics = [
            [{ id = "budget_left", expression = "100 * (good - ${local.percent_text[s.name].objective}) / ${local.slo_budget_percent_text[s.name]}", label = "error budget left (%)" }],
            [local.namespace, s.metric, "Environment", var.environment, { id = "good", stat = local.slo_good_statistic[s.name], label = "attainment (%)" }],
          ]
          view                 = "singleValue"
          setPeriodToTimeRange = true
          start                = local.slo_period_start[s.name]
          period               = try(local.slo_period_seconds[s.name], 2419200)
          stat                 = local.slo_good_statistic[s.name]
          annotations          = { horizontal = [] }
        }
      },
      {
        type  = "metric"
        width = 16
        properties = {
          title = "SLO ${s.name}: burn rate (alarms above the lines)"
          metrics = concat([
            for i, w in local.slo_windows[s.name] : [
              [{
                id         = "burn_${i}"
                expression = format(local.burn_rate_expression, "n_${i}", local.slo_policy[s.name].min_values, "good_${i}", local.slo_budget_percent_text[s.name])
                label      = "burn rate ${local.window_text[tostring(tonumber(w))]}"
              }],
              [local.namespace, s.metric, "Environment", var.environment, { id = "good_${i}", stat = local.slo_good_statistic[s.name], period = tonumber(w), visible = false }],
              [local.namespace, s.metric, "Environment", var.environment, { id = "n_${i}", stat = "SampleCount", period = tonumber(w), visible = false }],
            ]
          ]...)
          view   = "timeSeries"
          period = var.dashboard_period_seconds
          stat   = "SampleCount"
          annotations = {
            horizontal = [
              for factor, rules in { for r in local.slo_rule_alarms[s.name] : format("%.2f", r.factor) => r... } : {
                label = "x${replace(factor, "/\\.?0+$/", "")}: ${join("; ", [for r in rules : "${r.notify} ${try(local.window_text[tostring(r.long)], "?")} and ${try(local.window_text[tostring(r.short)], "?")}"])}"
                value = tonumber(factor)
              }
            ]
          }
        }
      },
    ]
  ])

  widgets = concat(local.metric_widgets, local.event_type_widgets)

  dashboard_body = jsonencode({
    widgets = concat(
      [
        for i, w in local.widgets : {
          type   = "metric"
          x      = (i % 2) * 12
          y      = floor(i / 2) * 6
          width  = 12
          height = 6
          properties = {
            title       = w.title
            region      = var.region
            view        = "timeSeries"
            stacked     = false
            stat        = w.stat
            period      = var.dashboard_period_seconds
            metrics     = w.metrics
            annotations = w.annotations
            yAxis       = { left = { min = 0, label = w.unit, showUnits = false } }
          }
        }
      ],
      [
        for i, w in local.slo_widgets : merge(w, {
          x      = i % 2 == 0 ? 0 : 8
          y      = ceil(length(local.widgets) / 2) * 6 + floor(i / 2) * 6
          height = 6
          properties = merge(w.properties, {
            region = var.region
            yAxis  = { left = { min = 0, showUnits = false } }
          })
        })
      ],
    )
  })
}
