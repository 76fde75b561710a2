# AWS sources (docs/aws-sources.md): AWS puts its service events (AWS Config
# compliance changes, Control Tower lifecycle events, Systems Manager patch
# compliance) on the default bus of the account where they happen. This rule
# forwards those the catalog maps from this account's default bus to the
# Flight Controller bus, where each event type's rule matches the service
# events that become its events; modules/member-account does the same in
# every other account of the organization, allowed by the bus policy below.

locals {
  aws_sources = module.catalog.aws_sources
  # Keyed by a name known at plan time, for count-free for_each.
  forward_aws_sources = local.aws_sources.forward_pattern == null ? {} : {
    aws-sources = {
      rule_name              = local.aws_sources.forward_rule_name
      dead_letter_queue_name = "${local.aws_sources.forward_rule_name}-dlq"
      rule_arn               = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.aws_sources.forward_rule_name}"
    }
  }
}

resource "aws_cloudwatch_event_rule" "aws_sources" {
  for_each = local.forward_aws_sources

  name           = each.value.rule_name
  description    = "Forwards the AWS service events the catalog maps to event types to the Flight Controller bus."
  event_bus_name = "default"
  event_pattern  = local.aws_sources.forward_pattern
  tags           = var.tags
}

data "aws_iam_policy_document" "aws_sources_assume_role" {
  for_each = local.forward_aws_sources

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [each.value.rule_arn]
    }
  }
}

resource "aws_iam_role" "aws_sources" {
  for_each = local.forward_aws_sources

  name               = each.value.rule_name
  description        = "Lets the ${each.value.rule_name} rule put AWS service events on the Flight Controller bus."
  assume_role_policy = data.aws_iam_policy_document.aws_sources_assume_role[each.key].json
  tags               = var.tags
}

data "aws_iam_policy_document" "aws_sources" {
  statement {
    sid       = "PutServiceEventsOnTheFlightControllerBus"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]
  }
}

resource "aws_iam_role_policy" "aws_sources" {
  for_each = local.forward_aws_sources

  name   = "least-privilege"
  role   = aws_iam_role.aws_sources[each.key].id
  policy = data.aws_iam_policy_document.aws_sources.json
}

resource "aws_sqs_queue" "aws_sources_dead_letter" {
  for_each = local.forward_aws_sources

  name                              = each.value.dead_letter_queue_name
  message_retention_seconds         = var.dead_letter_retention_seconds
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

data "aws_iam_policy_document" "aws_sources_dead_letter" {
  for_each = local.forward_aws_sources

  statement {
    sid       = "ItsEventBridgeRuleSendsUndeliveredEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.aws_sources_dead_letter[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.aws_sources[each.key].arn]
    }
  }
}

resource "aws_sqs_queue_policy" "aws_sources_dead_letter" {
  for_each = local.forward_aws_sources

  queue_url = aws_sqs_queue.aws_sources_dead_letter[each.key].id
  policy    = data.aws_iam_policy_document.aws_sources_dead_letter[each.key].json
}

resource "aws_cloudwatch_event_target" "aws_sources" {
  for_each = local.forward_aws_sources

  rule           = aws_cloudwatch_event_rule.aws_sources[each.key].name
  event_bus_name = aws_cloudwatch_event_rule.aws_sources[each.key].event_bus_name
  target_id      = "flight-controller-bus"
  arn            = aws_cloudwatch_event_bus.this.arn
  role_arn       = aws_iam_role.aws_sources[each.key].arn

  retry_policy {
    maximum_event_age_in_seconds = var.event_delivery.maximum_event_age_in_seconds
    maximum_retry_attempts       = var.event_delivery.maximum_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.aws_sources_dead_letter[each.key].arn
  }
}

# The member accounts' forwarding rules (modules/member-account) put events
# on this bus with their own roles: allowed for the organization's accounts.
locals {
  organization = var.organization_id == null ? {} : { organization = var.organization_id }
}

data "aws_iam_policy_document" "organization_puts_events" {
  for_each = local.organization

  statement {
    sid       = "AccountsOfTheOrganizationPutEvents"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalOrgID"
      values   = [each.value]
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "organization" {
  for_each = local.organization

  event_bus_name = aws_cloudwatch_event_bus.this.name
  policy         = data.aws_iam_policy_document.organization_puts_events[each.key].json
}

output "aws_sources_forward_rule_name" {
  description = "Name of the default-bus rule forwarding the catalog's AWS service events to the Flight Controller bus (null without sources)."
  value       = try(aws_cloudwatch_event_rule.aws_sources["aws-sources"].name, null)
}
