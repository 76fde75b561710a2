variable "central_event_bus_arn" {
  description = "ARN of the Flight Controller bus in the central account (the flight-controller module's event_bus_arn output)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._-]+$", var.central_event_bus_arn))
    error_message = "central_event_bus_arn is an EventBridge bus ARN: arn:<partition>:events:<region>:<account>:event-bus/<name>."
  }
}

variable "environment" {
  description = "Environment of the central deployment this account forwards to (dev, prod, ...): part of the resource names."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the resource names, as in the central deployment."
  type        = string
  default     = "flight-controller"
}

variable "catalog_path" {
  description = "Path to the catalog YAML; null means the repository's events/catalog.yaml. Use the catalog the central account deploys."
  type        = string
  default     = null
}

variable "event_delivery" {
  description = "How long and how often EventBridge retries delivering to the central bus before the event goes to the dead-letter queue."
  type = object({
    maximum_event_age_in_seconds = optional(number, 3600)
    maximum_retry_attempts       = optional(number, 185)
  })
  default = {}
}

variable "dead_letter_retention_seconds" {
  description = "How long undelivered events stay in the dead-letter queue."
  type        = number
  default     = 1209600
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
