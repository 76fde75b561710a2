region = "eu-west-1"

# Tests put events marked with a test-run id and read the results back from
# the capture table.
enable_capture = true

# Dev data can be recreated from the producers; let `terraform destroy` work.
deletion_protection = false

log_retention_days = 30

alert_subscriptions = {
  # page   = [{ protocol = "email", endpoint = "flight-controller-dev@example.com" }]
  # ticket = [{ protocol = "email", endpoint = "flight-controller-dev@example.com" }]
}
