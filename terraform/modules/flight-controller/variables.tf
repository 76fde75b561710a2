variable "environment" {
  description = "Environment name (dev, prod, ...): part of every resource name and the Environment dimension of every metric."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "flight-controller"
}

variable "catalog_path" {
  description = "Path to the catalog YAML. Defaults to events/catalog.yaml of this repository."
  type        = string
  default     = null
}

variable "lambda_zip_dir" {
  description = "Directory holding ingest.zip, settle.zip and capture.zip (built by scripts/build.sh). Defaults to dist/ at the repository root, seen from a root in terraform/environments/<env>."
  type        = string
  default     = null
}

variable "metrics_mode" {
  description = "How the functions publish measurements: put_metric_data or emf (Embedded Metric Format)."
  type        = string
  default     = "put_metric_data"
}

variable "lateness_window_seconds" {
  description = "Overrides the catalog's lateness window (alerting.lateness_window, default 5m), in seconds: how long after an event is stored the measurements it completes are published; later arrivals are counted as late. Null (the default): the catalog's, which its burn-rate alarms' short windows are chosen for."
  type        = number
  default     = null
}

variable "settle_lease_seconds" {
  description = "How long a function publishing a due measurement holds it before another may retry it (LEASE_SECONDS of settle and ingest)."
  type        = number
  default     = 120
}

variable "enable_capture" {
  description = "Create the capture table, rule and function that record test events (non-production environments)."
  type        = bool
  default     = false
}

variable "capture_ttl_hours" {
  description = "How long captured test records live."
  type        = number
  default     = 24
}

# reserved_concurrency: -1 leaves a function unreserved (Lambda's own
# convention); null or omitted means the default, because Terraform replaces
# an explicit null in an optional attribute with its default.
variable "ingest_function" {
  description = "Size of each per-event-type ingest function. reserved_concurrency = -1 leaves it unreserved (null or omitted: 5)."
  type = object({
    memory_size          = optional(number, 128)
    timeout              = optional(number, 30)
    reserved_concurrency = optional(number, 5)
  })
  default = {}

  validation {
    condition     = var.ingest_function.reserved_concurrency == -1 || var.ingest_function.reserved_concurrency >= 1
    error_message = "ingest_function.reserved_concurrency must be -1 (unreserved) or at least 1 (0 would stop the functions)."
  }
}

variable "settle_function" {
  description = "Size of the settle function. reserved_concurrency = -1 leaves it unreserved (null or omitted: 1); concurrent sweeps are safe, see the module README."
  type = object({
    memory_size          = optional(number, 128)
    timeout              = optional(number, 60)
    reserved_concurrency = optional(number, 1)
  })
  default = {}

  validation {
    condition     = var.settle_function.reserved_concurrency == -1 || var.settle_function.reserved_concurrency >= 1
    error_message = "settle_function.reserved_concurrency must be -1 (unreserved) or at least 1 (0 would stop the sweep)."
  }
}

variable "capture_function" {
  description = "Size of the capture function. reserved_concurrency = -1 leaves it unreserved (null or omitted: 2)."
  type = object({
    memory_size          = optional(number, 128)
    timeout              = optional(number, 10)
    reserved_concurrency = optional(number, 2)
  })
  default = {}

  validation {
    condition     = var.capture_function.reserved_concurrency == -1 || var.capture_function.reserved_concurrency >= 1
    error_message = "capture_function.reserved_concurrency must be -1 (unreserved) or at least 1 (0 would stop the function)."
  }
}

variable "event_delivery" {
  description = "Retries of EventBridge delivering an event to a function (maximum_event_age_in_seconds 60-86400, maximum_retry_attempts 0-185) and of Lambda re-running a failed asynchronous invocation (function_maximum_event_age_in_seconds 60-21600, function_maximum_retry_attempts 0-2). What still fails lands in the function's dead-letter queue."
  type = object({
    maximum_event_age_in_seconds          = optional(number, 3600)
    maximum_retry_attempts                = optional(number, 185)
    function_maximum_event_age_in_seconds = optional(number, 3600)
    function_maximum_retry_attempts       = optional(number, 2)
  })
  default = {}

  validation {
    condition = (
      var.event_delivery.maximum_event_age_in_seconds >= 60 && var.event_delivery.maximum_event_age_in_seconds <= 86400 &&
      var.event_delivery.maximum_retry_attempts >= 0 && var.event_delivery.maximum_retry_attempts <= 185 &&
      var.event_delivery.function_maximum_event_age_in_seconds >= 60 && var.event_delivery.function_maximum_event_age_in_seconds <= 21600 &&
      var.event_delivery.function_maximum_retry_attempts >= 0 && var.event_delivery.function_maximum_retry_attempts <= 2
    )
    error_message = "event_delivery is out of the ranges AWS accepts (see the description)."
  }
}

variable "dead_letter_retention_seconds" {
  description = "How long failed events stay in a dead-letter queue (SQS allows at most 14 days)."
  type        = number
  default     = 1209600
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "enable_tracing" {
  description = "Active X-Ray tracing of every function."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Protect the event store table from deletion (keep true in production)."
  type        = bool
  default     = true
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period before the module's KMS key is deleted after a destroy (7-30 days)."
  type        = number
  default     = 30
}

variable "alert_subscriptions" {
  description = "Who is notified, by alarm severity (page, ticket): lists of {protocol, endpoint}, protocol one of email, sms, https (e.g. a pager service's HTTPS endpoint). Email subscriptions must be confirmed from the message SNS sends."
  type = map(list(object({
    protocol = string
    endpoint = string
  })))
  default = {}

  validation {
    condition     = alltrue([for severity in keys(var.alert_subscriptions) : contains(["page", "ticket"], severity)])
    error_message = "alert_subscriptions keys must be alarm severities: page, ticket."
  }

  validation {
    condition     = alltrue(flatten([for subscriptions in values(var.alert_subscriptions) : [for s in subscriptions : contains(["email", "sms", "https"], s.protocol)]]))
    error_message = "alert_subscriptions protocols must be email, sms or https."
  }
}

variable "tags" {
  description = "Tags for every resource (in addition to the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "organization_id" {
  description = "AWS Organizations id (o-...). When set, every account of the organization may put events on the Flight Controller bus (aws:PrincipalOrgID), so that modules/member-account can forward their AWS service events; null: only this account."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id is an AWS Organizations id: o- followed by 10 to 32 lower-case letters or digits."
  }
}
