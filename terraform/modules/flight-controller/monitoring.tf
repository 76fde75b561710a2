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

# SLO alarms (one per catalog SLO) and operational alarms (per function:
# errors, throttles, dead letters; per event type: late and rejected events).
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

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = local.names.dashboard
  dashboard_body = module.catalog.dashboard_body
}
