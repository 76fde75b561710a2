#!/usr/bin/env bash
# The one test command: installs what it needs (idempotently), checks
# formatting and lints, starts DynamoDB Local and moto server for the
# integration tests, runs every test, runs the end-to-end tests on a local
# stack (scripts/local.sh, scripts/e2e.sh; against a deployed environment too
# when FC_E2E_ENV is set), runs flightctl's verbs on that stack, smoke-tests
# the ingest function under `cargo lambda watch`, runs the Terraform checks,
# and stops what it started, also when a step fails.
#
#   scripts/test.sh               everything
#   FC_SKIP_TERRAFORM=1 ...       skip the Terraform checks
#   FC_SKIP_LAMBDA_WATCH=1 ...    skip the cargo lambda watch smoke test
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

# The end-to-end tests' stack, apart from any a developer keeps running.
export FC_LOCAL_DIR="${TMPDIR:-/tmp}/flight-controller-test-${USER:-$(id -un)}"

step "starting DynamoDB Local and moto server"
trap 'bash scripts/local.sh stop >/dev/null 2>&1 || true; bash scripts/services.sh stop' EXIT
bash scripts/services.sh start
eval "$(bash scripts/services.sh env)"

step "cargo test (unit, scenario, CLI and integration tests)"
cargo test --workspace --no-fail-fast
cargo test -q --workspace --test html_report -- --ignored   # the HTML report in headless Chromium (the workspace feature set, so nothing is rebuilt)

step "end-to-end: every sample story on a local stack (scripts/local.sh --keep)"
bash scripts/local.sh --keep

step "end-to-end: test runs through the capture table (scripts/e2e.sh)"
bash scripts/e2e.sh

step "flightctl on the local stack: health, put-events, report, backfill"
(
  eval "$(grep -v _PID= "$FC_LOCAL_DIR/local.env")"
  cargo test -q --workspace --test local_stack -- --ignored
)

step "smoke test: the ingest function under cargo lambda watch"
if [ "${FC_SKIP_LAMBDA_WATCH:-}" = 1 ]; then
  echo "skipped (FC_SKIP_LAMBDA_WATCH=1)"
else
  bash scripts/lambda-smoke.sh
fi

step "stopping the local stack"
bash scripts/local.sh stop

if [ -z "${FC_SKIP_TERRAFORM:-}" ] && [ -x scripts/check-terraform.sh ]; then
  step "Terraform checks"
  bash scripts/check-terraform.sh
fi

step "all checks passed"
