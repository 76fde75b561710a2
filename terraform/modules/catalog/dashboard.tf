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

  widgets = concat(local.metric_widgets, local.event_type_widgets)

  dashboard_body = jsonencode({
    widgets = [
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
    ]
  })
}
