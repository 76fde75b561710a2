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
  # Settle's first sweep when there are several (settle_sweeps); one sweep
  # takes the plain schedule event, which sweeps every shard.
  input = each.value.kind == "settle" && var.settle_sweeps > 1 ? jsonencode({ sweep = 0, of = var.settle_sweeps }) : null

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

# Settle scales out by sweep (docs/scale.md): with settle_sweeps = n, n
# schedules start n invocations every minute, sweep i taking the `due` shards
# s with s % n == i. Sweep 0 is the settle rule above; these are the others.
# n divides the shard count, 64 (flight_core::shard::DUE_SHARDS; a test in
# lambdas/flight-core/tests/settle_sweeps.rs holds the two together).
variable "settle_sweeps" {
  description = "Parallel settle invocations per minute, each sweeping its share of the 64 due shards (a divisor of 64: 1, 2, 4, 8, 16, 32 or 64). One sustains about 1,300 completing events/s in the load model, 16 about 16,000 (docs/scale.md); settle_function.reserved_concurrency must be -1 or at least this."
  type        = number
  default     = 1

  validation {
    condition     = contains([for n in range(1, 65) : n if 64 % n == 0], var.settle_sweeps)
    error_message = "settle_sweeps must divide the 64 due shards: 1, 2, 4, 8, 16, 32 or 64."
  }
}

locals {
  settle_sweeps = { for i in range(1, var.settle_sweeps) : tostring(i) => i }
}

resource "aws_cloudwatch_event_rule" "settle_sweep" {
  for_each = local.settle_sweeps

  name                = "${local.functions["settle"].rule_name}-sweep-${each.value}"
  description         = "${local.functions["settle"].description} Sweep ${each.value} of ${var.settle_sweeps}."
  schedule_expression = local.functions["settle"].schedule_expression
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = var.settle_function.reserved_concurrency == -1 || var.settle_function.reserved_concurrency >= var.settle_sweeps
      error_message = "settle_function.reserved_concurrency must be -1 or at least settle_sweeps, or the sweeps throttle each other."
    }
  }
}

resource "aws_cloudwatch_event_target" "settle_sweep" {
  for_each = local.settle_sweeps

  rule      = aws_cloudwatch_event_rule.settle_sweep[each.key].name
  target_id = "function"
  arn       = aws_lambda_function.this["settle"].arn
  input     = jsonencode({ sweep = each.value, of = var.settle_sweeps })

  retry_policy {
    maximum_event_age_in_seconds = var.event_delivery.maximum_event_age_in_seconds
    maximum_retry_attempts       = var.event_delivery.maximum_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter["settle"].arn
  }
}

resource "aws_lambda_permission" "settle_sweep" {
  for_each = local.settle_sweeps

  statement_id  = "AllowSettleSweep${each.value}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["settle"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.settle_sweep[each.key].arn
}
