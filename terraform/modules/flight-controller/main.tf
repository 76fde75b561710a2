data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

# Everything that depends only on the catalog: names, event patterns, function
# definitions, alarm definitions, the dashboard body.
module "catalog" {
  source = "../catalog"

  catalog_path            = var.catalog_path
  environment             = var.environment
  name_prefix             = var.name_prefix
  region                  = data.aws_region.current.name
  metrics_mode            = var.metrics_mode
  lateness_window_seconds = var.lateness_window_seconds
  settle_lease_seconds    = var.settle_lease_seconds
  enable_capture          = var.enable_capture
  capture_ttl_hours       = var.capture_ttl_hours
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  names     = module.catalog.names
  functions = module.catalog.functions
  alarms    = module.catalog.operational_alarms

  lambda_zip_dir = coalesce(var.lambda_zip_dir, "${path.root}/../../../dist")

  function_sizes = {
    ingest  = var.ingest_function
    settle  = var.settle_function
    capture = var.capture_function
  }
}
