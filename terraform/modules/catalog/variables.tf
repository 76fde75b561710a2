variable "catalog_path" {
  description = "Path to the catalog YAML. Defaults to events/catalog.yaml at the repository root. Ignored when catalog_yaml is set."
  type        = string
  default     = null
}

variable "catalog_yaml" {
  description = "The catalog as YAML (or JSON) text; takes precedence over catalog_path."
  type        = string
  default     = null
}

variable "environment" {
  description = "Environment name (dev, prod, ...): part of every resource name and the Environment dimension of every metric."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,11}$", var.environment))
    error_message = "environment must be 1-12 characters: lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "flight-controller"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,23}$", var.name_prefix))
    error_message = "name_prefix must be 1-24 characters: lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS Region the dashboard widgets read metrics from."
  type        = string
}

variable "metrics_mode" {
  description = "How the functions publish measurements: put_metric_data (CloudWatch API) or emf (Embedded Metric Format log lines)."
  type        = string
  default     = "put_metric_data"

  validation {
    condition     = contains(["put_metric_data", "emf"], var.metrics_mode)
    error_message = "metrics_mode must be put_metric_data or emf."
  }
}

variable "lateness_window_seconds" {
  description = "Overrides the catalog's alerting.lateness_window (seconds): how long after an event is stored the measurements it completes are published; later arrivals are counted as late. Null (the default): the catalog's."
  type        = number
  default     = null

  validation {
    condition     = try(var.lateness_window_seconds >= 0 && floor(var.lateness_window_seconds) == var.lateness_window_seconds, var.lateness_window_seconds == null)
    error_message = "lateness_window_seconds must be a whole number of seconds, 0 or more."
  }
}

variable "settle_lease_seconds" {
  description = "How long a function publishing a due measurement holds it before another may retry it (LEASE_SECONDS of settle and ingest)."
  type        = number
  default     = 120

  validation {
    condition     = var.settle_lease_seconds >= 1 && floor(var.settle_lease_seconds) == var.settle_lease_seconds
    error_message = "settle_lease_seconds must be a whole number of seconds, 1 or more."
  }
}

variable "enable_capture" {
  description = "Whether the capture table, rule and function exist (test environments only)."
  type        = bool
  default     = false
}

variable "capture_ttl_hours" {
  description = "How long captured test records live before DynamoDB expires them."
  type        = number
  default     = 24

  validation {
    condition     = var.capture_ttl_hours >= 1
    error_message = "capture_ttl_hours must be at least 1."
  }
}

variable "dashboard_period_seconds" {
  description = "Period of each dashboard graph point."
  type        = number
  default     = 3600

  validation {
    condition     = var.dashboard_period_seconds >= 60 && var.dashboard_period_seconds % 60 == 0
    error_message = "dashboard_period_seconds must be a multiple of 60."
  }
}
