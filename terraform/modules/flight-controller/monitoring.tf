# Alarms notify a topic per severity: page (someone acts now) and ticket
# (someone looks during working hours). OK transitions are sent too, so a
# page closes itself.
resource "aws_sns_topic" "alerts" {
  for_each = local.names.alert_topics

  name              = each.value
  kms_master_key_id = aws_kms_key.this.arn
  tags              = var.tags
}

data "aws_iam_policy_document" "alert_topic" {
  for_each = local.names.alert_topics

  statement {
    sid       = "FlightControllerAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name_prefix}-${var.environment}-*"]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  for_each = local.names.alert_topics

  arn    = aws_sns_topic.alerts[each.key].arn
  policy = data.aws_iam_policy_document.alert_topic[each.key].json
}

locals {
  alert_subscriptions = {
    for s in flatten([
      for severity, subscriptions in var.alert_subscriptions : [
        for subscription in subscriptions : merge(subscription, { severity = severity })
      ]
    ]) : "${s.severity} ${s.protocol} ${s.endpoint}" => s
  }
}

resource "aws_sns_topic_subscription" "alerts" {
  for_each = local.alert_subscriptions

  topic_arn = aws_sns_topic.alerts[each.value.severity].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

# Operational alarms (per function: errors, throttles, dead letters; per
# event type: late and rejected events; refused and over-budget data points).
resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = each.value.alarm_name
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended_statistic
  comparison_operator = each.value.comparison_operator
  threshold           = each.value.threshold
  period              = each.value.period
  evaluation_periods  = each.value.evaluation_periods
  treat_missing_data  = each.value.treat_missing_data
  alarm_actions       = [aws_sns_topic.alerts[each.value.severity].arn]
  ok_actions          = [aws_sns_topic.alerts[each.value.severity].arn]
  tags                = var.tags
}

# SLO burn-rate alarms (docs/alerting.md): per SLO and distinct (window,
# factor) of its rules, the burn rate over the window from the metric itself
# (good: its percentile rank on the good side; n: its sample count). They
# notify no one: the composite alarms below do.
resource "aws_cloudwatch_metric_alarm" "slo_window" {
  for_each = module.catalog.slo_window_alarms

  alarm_name          = each.value.alarm_name
  alarm_description   = module.catalog.slo_alarm_texts[each.key].description
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.factor
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  treat_missing_data  = each.value.treat_missing_data
  tags                = var.tags

  metric_query {
    id          = "good"
    return_data = false
    metric {
      namespace   = each.value.namespace
      metric_name = each.value.metric_name
      dimensions  = each.value.dimensions
      period      = each.value.window_seconds
      stat        = each.value.good_statistic
    }
  }

  metric_query {
    id          = "n"
    return_data = false
    metric {
      namespace   = each.value.namespace
      metric_name = each.value.metric_name
      dimensions  = each.value.dimensions
      period      = each.value.window_seconds
      stat        = "SampleCount"
    }
  }

  metric_query {
    id          = "burn"
    expression  = each.value.expression
    label       = module.catalog.slo_alarm_texts[each.key].label
    return_data = true
  }
}

# Per SLO and severity: page (or ticket) when both windows of one of its
# rules burn above the rule's factor; OK when none does.
resource "aws_cloudwatch_composite_alarm" "slo" {
  for_each = module.catalog.slo_composite_alarms

  alarm_name        = each.value.alarm_name
  alarm_description = module.catalog.slo_alarm_texts[each.key].description
  alarm_rule        = each.value.rule
  actions_enabled   = true
  alarm_actions     = [aws_sns_topic.alerts[each.value.severity].arn]
  ok_actions        = [aws_sns_topic.alerts[each.value.severity].arn]
  tags              = var.tags

  # The rule names the burn-rate alarms: they must exist first (and go last).
  depends_on = [aws_cloudwatch_metric_alarm.slo_window]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = local.names.dashboard
  dashboard_body = module.catalog.dashboard_body
}
