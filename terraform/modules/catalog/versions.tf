terraform {
  # Provider-less on purpose: everything derived from the catalog is computed
  # here, so it initialises, validates and runs `terraform test` offline.
  required_version = ">= 1.7"
}
