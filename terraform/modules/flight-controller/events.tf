# Producers put events on this bus; one rule per function routes them.
resource "aws_cloudwatch_event_bus" "this" {
  name = local.names.event_bus
  tags = var.tags
}

# Ingest and capture rules match event patterns on the custom bus; the settle
# rule is a schedule, and schedules only run on the default bus.
resource "aws_cloudwatch_event_rule" "function" {
  for_each = local.functions

  name                = each.value.rule_name
  description         = each.value.description
  event_bus_name      = each.value.event_bus == local.names.event_bus ? aws_cloudwatch_event_bus.this.name : each.value.event_bus
  event_pattern       = each.value.event_pattern
  schedule_expression = each.value.schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "function" {
  for_each = local.functions

  rule           = aws_cloudwatch_event_rule.function[each.key].name
  event_bus_name = aws_cloudwatch_event_rule.function[each.key].event_bus_name
  target_id      = "function"
  arn            = aws_lambda_function.this[each.key].arn

  retry_policy {
    maximum_event_age_in_seconds = var.event_delivery.maximum_event_age_in_seconds
    maximum_retry_attempts       = var.event_delivery.maximum_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter[each.key].arn
  }
}

resource "aws_lambda_permission" "eventbridge" {
  for_each = local.functions

  statement_id  = "AllowItsEventBridgeRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.key].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.function[each.key].arn
}
