# One dead-letter queue per function receives both what EventBridge could not
# deliver to it (the rule target's DLQ) and the invocations that failed after
# Lambda's retries (the function's on-failure destination).
resource "aws_sqs_queue" "dead_letter" {
  for_each = local.functions

  name                              = each.value.dead_letter_queue_name
  message_retention_seconds         = var.dead_letter_retention_seconds
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

data "aws_iam_policy_document" "dead_letter_queue" {
  for_each = local.functions

  statement {
    sid       = "ItsEventBridgeRuleSendsUndeliveredEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      # Settle's other sweeps (events.tf, settle_sweeps) share its queue.
      values = concat([aws_cloudwatch_event_rule.function[each.key].arn], each.key == "settle" ? [for rule in aws_cloudwatch_event_rule.settle_sweep : rule.arn] : [])
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letter" {
  for_each = local.functions

  queue_url = aws_sqs_queue.dead_letter[each.key].id
  policy    = data.aws_iam_policy_document.dead_letter_queue[each.key].json
}
