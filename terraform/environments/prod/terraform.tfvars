region = "eu-west-1"

enable_capture      = false
deletion_protection = true
log_retention_days  = 365

alert_subscriptions = {
  # page = [
  #   { protocol = "https", endpoint = "https://events.pagerduty.com/integration/<integration key>/enqueue" },
  #   { protocol = "sms", endpoint = "+15555550100" },
  # ]
  # ticket = [{ protocol = "email", endpoint = "platform-team@example.com" }]
}
