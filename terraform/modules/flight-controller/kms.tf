# One customer-managed key encrypts the tables, queues, topics, log groups and
# function environments of this environment.
resource "aws_kms_key" "this" {
  description             = "Flight Controller ${var.environment}: event store, queues, alert topics, logs"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms_key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = local.names.kms_alias
  target_key_id = aws_kms_key.this.key_id
}

# In a key policy, Resource "*" means this key. The account statement lets IAM
# policies (the function roles below) grant use of the key; the services get
# only what they need to write encrypted data on Flight Controller's behalf.
data "aws_iam_policy_document" "kms_key" {
  #checkov:skip=CKV_AWS_109:This is a key policy: Resource "*" is the key itself, and the account statement is AWS's default that hands control to IAM.
  #checkov:skip=CKV_AWS_111:This is a key policy: Resource "*" is the key itself, and the account statement is AWS's default that hands control to IAM.
  #checkov:skip=CKV_AWS_356:This is a key policy: Resource "*" is the key itself, and the account statement is AWS's default that hands control to IAM.
  statement {
    sid       = "AccountAdministersTheKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsTheFunctionLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}-${var.environment}-*"]
    }
  }

  # Only for this account's rules of this environment: those on its bus
  # (rule/<bus>/<rule>) and the settle schedule on the default bus.
  statement {
    sid       = "EventBridgeWritesUndeliveredEventsToTheDeadLetterQueues"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

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
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values = [
        "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.names.event_bus}/*",
        "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.name_prefix}-${var.environment}-*",
      ]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublishToTheAlertTopics"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}
