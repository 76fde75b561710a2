provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Application = "flight-controller"
      Environment = "prod"
      ManagedBy   = "terraform"
    }
  }
}

module "flight_controller" {
  source = "../../modules/flight-controller"

  environment         = "prod"
  enable_capture      = var.enable_capture
  deletion_protection = var.deletion_protection
  log_retention_days  = var.log_retention_days
  metrics_mode        = var.metrics_mode
  alert_subscriptions = var.alert_subscriptions
  organization_id     = var.organization_id
}
