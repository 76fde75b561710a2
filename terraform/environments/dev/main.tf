provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Application = "flight-controller"
      Environment = "dev"
      ManagedBy   = "terraform"
    }
  }
}

module "flight_controller" {
  #checkov:skip=CKV_AWS_338:Development logs are kept 30 days (terraform.tfvars); production keeps them a year.
  source = "../../modules/flight-controller"

  environment         = "dev"
  enable_capture      = var.enable_capture
  deletion_protection = var.deletion_protection
  log_retention_days  = var.log_retention_days
  metrics_mode        = var.metrics_mode
  alert_subscriptions = var.alert_subscriptions
  organization_id     = var.organization_id
}
