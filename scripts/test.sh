#!/usr/bin/env bash
# The one test command: installs what it needs (idempotently), checks
# formatting and lints, starts DynamoDB Local and moto server for the
# integration tests, runs every test, runs the Terraform checks, and stops
# what it started, also when a step fails.
#
#   scripts/test.sh            everything
#   FC_SKIP_TERRAFORM=1 ...    skip the Terraform checks
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "installing tools (idempotent)"
bash scripts/setup.sh
eval "$(bash scripts/setup.sh --env)"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "starting DynamoDB Local and moto server"
trap 'bash scripts/services.sh stop' EXIT
bash scripts/services.sh start
eval "$(bash scripts/services.sh env)"

step "cargo test (unit, scenario, CLI and integration tests)"
cargo test --workspace --no-fail-fast

if [ -z "${FC_SKIP_TERRAFORM:-}" ] && [ -x scripts/check-terraform.sh ]; then
  step "Terraform checks"
  bash scripts/check-terraform.sh
fi

step "all checks passed"
