variable "region" {
  description = "AWS Region to deploy to."
  type        = string
}

variable "enable_capture" {
  description = "Create the capture table, rule and function that record test events."
  type        = bool
}

variable "deletion_protection" {
  description = "Protect the event store table from deletion."
  type        = bool
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups, in days."
  type        = number
}

variable "metrics_mode" {
  description = "put_metric_data or emf."
  type        = string
  default     = "put_metric_data"
}

variable "alert_subscriptions" {
  description = "Who is notified, by alarm severity (page, ticket): lists of {protocol, endpoint}; protocol email, sms or https."
  type = map(list(object({
    protocol = string
    endpoint = string
  })))
  default = {}
}

variable "organization_id" {
  description = "AWS Organizations id (o-...) whose accounts may put events on the bus (terraform/modules/member-account forwards their AWS service events); null: only this account."
  type        = string
  default     = null
}
