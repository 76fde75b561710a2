# Applied in every member account of the organization (or through StackSets):
# forwards the AWS service events the catalog maps to event types (AWS Config
# compliance changes, Control Tower lifecycle events, Systems Manager patch
# compliance; docs/aws-sources.md) from this account's default bus, where AWS
# puts them, to the Flight Controller bus in the central account. The central
# bus's policy (flight-controller's organization_id) lets the organization's
# accounts put events; the role here may put events on that bus only.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

# The catalog's one definition of the service events' pattern.
module "catalog" {
  source = "../catalog"

  catalog_path = var.catalog_path
  environment  = var.environment
  name_prefix  = var.name_prefix
  region       = data.aws_region.current.name
}

locals {
  rule_name = "${var.name_prefix}-${var.environment}-aws-sources"
  rule_arn  = "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:rule/${local.rule_name}"
  pattern   = module.catalog.aws_sources.forward_pattern
}

resource "aws_cloudwatch_event_rule" "forward" {
  name           = local.rule_name
  description    = "Forwards the AWS service events Flight Controller measures to its bus in the central account."
  event_bus_name = "default"
  event_pattern  = local.pattern
  tags           = var.tags

  lifecycle {
    precondition {
      condition     = local.pattern != null
      error_message = "The catalog has no `sources`: there is nothing to forward."
    }
  }
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.rule_arn]
    }
  }
}

resource "aws_iam_role" "forward" {
  name               = local.rule_name
  description        = "Lets ${local.rule_name} put this account's AWS service events on the central Flight Controller bus."
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "forward" {
  statement {
    sid       = "PutEventsOnTheCentralBusOnly"
    actions   = ["events:PutEvents"]
    resources = [var.central_event_bus_arn]
  }
}

resource "aws_iam_role_policy" "forward" {
  name   = "least-privilege"
  role   = aws_iam_role.forward.id
  policy = data.aws_iam_policy_document.forward.json
}

# What EventBridge could not deliver to the central bus, for replay.
resource "aws_sqs_queue" "dead_letter" {
  name                      = "${local.rule_name}-dlq"
  message_retention_seconds = var.dead_letter_retention_seconds
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

data "aws_iam_policy_document" "dead_letter" {
  statement {
    sid       = "TheForwardingRuleSendsUndeliveredEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.forward.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  policy    = data.aws_iam_policy_document.dead_letter.json
}

resource "aws_cloudwatch_event_target" "central_bus" {
  rule           = aws_cloudwatch_event_rule.forward.name
  event_bus_name = aws_cloudwatch_event_rule.forward.event_bus_name
  target_id      = "flight-controller-bus"
  arn            = var.central_event_bus_arn
  role_arn       = aws_iam_role.forward.arn

  retry_policy {
    maximum_event_age_in_seconds = var.event_delivery.maximum_event_age_in_seconds
    maximum_retry_attempts       = var.event_delivery.maximum_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}
