# Catalog entries that AWS would refuse fail the plan with a message that
# names them, instead of failing half-way through an apply.

variables {
  environment = "dev"
  region      = "us-east-1"
}

run "slos_cloudwatch_cannot_alarm_on" {
  command = plan

  variables {
    catalog_path = "tests/fixtures/broken-slos.yaml"
  }

  expect_failures = [output.slo_alarms]
}

run "function_names_longer_than_aws_allows" {
  command = plan

  variables {
    name_prefix  = "flight-ctl-platform-team"
    environment  = "integration"
    catalog_yaml = <<-YAML
      namespace: LongNames
      event_types:
        - name: ResourceFoundNonCompliantAfterRemediation
      metrics: []
    YAML
  }

  expect_failures = [output.functions]
}

run "event_types_whose_names_collide" {
  command = plan

  variables {
    catalog_yaml = <<-YAML
      namespace: Collisions
      event_types:
        - name: OrderPlaced
        - name: Order_Placed
      metrics: []
    YAML
  }

  expect_failures = [output.functions]
}
