# The event store: events, timelines and measurement records of each aggregate
# under one partition key (pk), ordered by sk.
#   timeline  (LSI): an aggregate's events in (time, event id) order.
#   due       (GSI): measurements waiting for their lateness window to close,
#                    sharded so the settle sweep reads them without a hot key.
#   by-metric (GSI): measurements of a metric in time order, for reports;
#                    write-sharded: m_metric is the metric's name or
#                    <metric>#<shard> (16 keys a metric, docs/delivery.md §7).
resource "aws_dynamodb_table" "events" {
  name                        = local.names.event_table
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  attribute {
    name = "tl"
    type = "S"
  }
  attribute {
    name = "due_shard"
    type = "S"
  }
  attribute {
    name = "due_at"
    type = "N"
  }
  attribute {
    name = "m_metric"
    type = "S"
  }
  attribute {
    name = "m_ts"
    type = "N"
  }

  local_secondary_index {
    name               = "timeline"
    range_key          = "tl"
    projection_type    = "INCLUDE"
    non_key_attributes = ["event_type", "time", "event_id", "sealed_at"]
  }

  global_secondary_index {
    name            = "due"
    hash_key        = "due_shard"
    range_key       = "due_at"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "by-metric"
    hash_key        = "m_metric"
    range_key       = "m_ts"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  tags = var.tags
}

# Test events and the measurements they produced, by test run, for tests to
# poll; DynamoDB deletes them once expires_at (epoch seconds) has passed.
resource "aws_dynamodb_table" "capture" {
  #checkov:skip=CKV_AWS_28:Capture records are disposable test evidence that expire within hours; there is nothing to restore.
  count = var.enable_capture ? 1 : 0

  name         = local.names.capture_table
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "run_id"
  range_key    = "sk"

  attribute {
    name = "run_id"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  tags = var.tags
}
