# Every function of the catalog module's `functions` map (one ingest function
# per event type, settle, capture when enabled) gets the same set of
# resources: role, log group, function, asynchronous-invocation settings.

locals {
  event_table_arn   = aws_dynamodb_table.events.arn
  capture_table_arn = var.enable_capture ? aws_dynamodb_table.capture[0].arn : null

  # What each kind of function may do beyond the statements every function
  # has (its own logs, its own dead-letter queue, the environment's key).
  # Plain data, so tests can read every statement from the HCL.
  function_permissions = {
    # Writes are conditional, some in TransactWriteItems, which IAM authorises
    # per item action (PutItem, UpdateItem, ConditionCheckItem).
    write_event_store = {
      kinds      = ["ingest", "settle"]
      enabled    = true
      sid        = "StoreEventsAndMeasurements"
      actions    = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
      resources  = [local.event_table_arn]
      conditions = []
    }
    read_timelines = {
      kinds      = ["ingest", "settle"]
      enabled    = true
      sid        = "ReadAggregateTimelines"
      actions    = ["dynamodb:Query"]
      resources  = ["${local.event_table_arn}/index/timeline"]
      conditions = []
    }
    find_due_measurements = {
      kinds      = ["settle"]
      enabled    = true
      sid        = "FindDueMeasurements"
      actions    = ["dynamodb:Query"]
      resources  = ["${local.event_table_arn}/index/due"]
      conditions = []
    }
    publish_metrics = {
      kinds   = ["ingest", "settle"]
      enabled = var.metrics_mode == "put_metric_data"
      sid     = "PublishMeasurementsInTheCatalogNamespace"
      actions = ["cloudwatch:PutMetricData"]
      # PutMetricData has no resource-level permissions; the condition scopes it.
      resources = ["*"]
      conditions = [{
        test     = "StringEquals"
        variable = "cloudwatch:namespace"
        values   = [module.catalog.namespace]
      }]
    }
    record_test_evidence = {
      kinds      = ["ingest", "settle", "capture"]
      enabled    = var.enable_capture
      sid        = "RecordTestEvidenceInTheCaptureTable"
      actions    = ["dynamodb:PutItem"]
      resources  = [local.capture_table_arn]
      conditions = []
    }
    send_traces = {
      kinds   = ["ingest", "settle", "capture"]
      enabled = var.enable_tracing
      sid     = "SendTraces"
      actions = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      # X-Ray has no resource-level permissions for these actions.
      resources  = ["*"]
      conditions = []
    }
  }
}

data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name               = each.value.function_name
  description        = "Runs ${each.value.function_name}."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  statement {
    sid       = "WriteItsOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }

  statement {
    sid       = "SendFailedInvocationsToItsDeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter[each.key].arn]
  }

  # Sending to the KMS-encrypted dead-letter queue (the on-failure destination
  # sends with the function's role) needs GenerateDataKey and Decrypt; nothing
  # here encrypts with the key directly, so no kms:Encrypt.
  statement {
    sid       = "UseTheEnvironmentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }

  dynamic "statement" {
    for_each = { for name, p in local.function_permissions : name => p if p.enabled && contains(p.kinds, each.value.kind) }

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "least-privilege"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.function[each.key].json
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = each.value.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to the on-failure destination (aws_lambda_function_event_invoke_config.this), which supersedes a Lambda DLQ and records the error with the event.
  #checkov:skip=CKV_AWS_117:The functions only call AWS public endpoints (DynamoDB, CloudWatch, SQS); a VPC would add NAT or endpoint costs and protect no private resource.
  #checkov:skip=CKV_AWS_272:The zips are built by scripts/build.sh in the deploying pipeline; code signing would need an AWS Signer profile this project does not run.
  for_each = local.functions

  function_name                  = each.value.function_name
  description                    = each.value.description
  role                           = aws_iam_role.function[each.key].arn
  runtime                        = "provided.al2023"
  architectures                  = ["arm64"]
  handler                        = "bootstrap"
  filename                       = "${local.lambda_zip_dir}/${each.value.zip_file}"
  source_code_hash               = filebase64sha256("${local.lambda_zip_dir}/${each.value.zip_file}")
  memory_size                    = local.function_sizes[each.value.kind].memory_size
  timeout                        = local.function_sizes[each.value.kind].timeout
  reserved_concurrent_executions = local.function_sizes[each.value.kind].reserved_concurrency
  kms_key_arn                    = aws_kms_key.this.arn

  environment {
    variables = each.value.environment
  }

  tracing_config {
    mode = var.enable_tracing ? "Active" : "PassThrough"
  }

  tags = var.tags

  # The log group must exist (with its retention and key) before Lambda writes
  # to it, and the role must be allowed to reach the failure destination.
  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]

  lifecycle {
    # Concurrent publishers (sweeps, ingest at a window of 0) are exactly-once
    # only while a claim's lease outlasts the function that holds it.
    precondition {
      condition     = var.settle_lease_seconds > local.function_sizes[each.value.kind].timeout
      error_message = "settle_lease_seconds must exceed every function's timeout, so that Lambda stops a publisher before its lease may be taken over."
    }
  }
}

resource "aws_lambda_function_event_invoke_config" "this" {
  for_each = local.functions

  function_name                = aws_lambda_function.this[each.key].function_name
  maximum_event_age_in_seconds = var.event_delivery.function_maximum_event_age_in_seconds
  maximum_retry_attempts       = var.event_delivery.function_maximum_retry_attempts

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dead_letter[each.key].arn
    }
  }
}
