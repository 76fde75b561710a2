#!/usr/bin/env bash
# Runs Flight Controller end to end on this machine, with no AWS account:
# installs its tools (scripts/setup.sh, idempotent), starts DynamoDB Local and
# moto server on loopback, provisions from the catalog what Terraform
# provisions in AWS (the bus, a rule per event type with the patterns of
# terraform/modules/catalog, the event store, the capture table, the SLO
# alarms and the dashboard), starts a dispatcher that delivers each rule's
# events to its function as Lambda would, and puts every sample story of
# events/ on the bus as a test run (scripts/put-events.sh: `flightctl
# test-run`), waits until their measurements are published, and prints them
# per metric with the SLO status; then each SLO's error budget and burn rates
# over the stored records (`flightctl report`).
#
#   scripts/local.sh           run the sample stories, then stop everything
#   scripts/local.sh --keep    leave the stack running and print how to use it
#   scripts/local.sh stop      stop a stack left running by --keep
#
# Locally the lateness window is 2 seconds (LATENESS_WINDOW_SECONDS; 300 in
# AWS) and the settle function runs every second (every minute in AWS). The
# sample stories carry fixed times; they are restamped so that each story's
# latest event happens now, keeping its durations (CloudWatch takes no data
# points older than 14 days), and ids are made unique to the run.
# State and logs: $FC_LOCAL_DIR (default ${TMPDIR:-/tmp}/flight-controller-local-$USER).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# The services of this stack, apart from those scripts/test.sh starts.
export FC_STATE_DIR="$LOCAL_DIR/services"
ENVIRONMENT=local
LATENESS_WINDOW_SECONDS=2

keep=""
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --keep) keep=1 ;;
  stop) ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 2; }

dispatcher=""

# Stops the dispatcher (its own process group) and the services, and waits
# until they are gone; safe to call twice.
stop_stack() {
  stop_group "${dispatcher:-$(recorded "$LOCAL_ENV" FC_DISPATCHER_PID)}"
  bash "$ROOT/scripts/services.sh" stop
  rm -f "$LOCAL_ENV"
}

if [ "${1:-}" = stop ]; then
  stop_stack
  say "stopped"
  exit 0
fi

if [ -f "$LOCAL_ENV" ] && alive "$(recorded "$LOCAL_ENV" FC_DISPATCHER_PID)"; then
  say "a local stack is already running (see $LOCAL_ENV); stop it first: scripts/local.sh stop"
  exit 1
fi

started=$SECONDS
mkdir -p "$LOCAL_DIR"
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$keep" ] && [ "$status" = 0 ]; then
    exit 0
  fi
  if [ "$status" != 0 ] && [ -f "$LOCAL_DIR/dispatcher.log" ]; then
    say "last lines of the dispatcher's log ($LOCAL_DIR/dispatcher.log):"
    tail -n 15 "$LOCAL_DIR/dispatcher.log" >&2 || true
  fi
  say "stopping everything this script started"
  stop_stack
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "installing tools (idempotent)"
bash "$ROOT/scripts/setup.sh"
eval "$(bash "$ROOT/scripts/setup.sh" --env)"

say "building flight-local (the provisioner and dispatcher) and flightctl (test runs)"
FLIGHT_LOCAL="$(cargo_bin flight-local)"

say "starting DynamoDB Local and moto server"
bash "$ROOT/scripts/services.sh" start >/dev/null
eval "$(bash "$ROOT/scripts/services.sh" env)"

say "applying terraform/modules/catalog offline (the one definition of rules, alarms, dashboard)"
tf="$LOCAL_DIR/terraform"
rm -rf "$tf" && mkdir -p "$tf"
terraform_catalog() {
  TF_DATA_DIR="$tf/data" terraform -chdir="$ROOT/terraform/modules/catalog" "$@" >"$tf/last.log" 2>&1 ||
    { cat "$tf/last.log" >&2; return 1; }
}
terraform_catalog init -backend=false -input=false
terraform_catalog apply -auto-approve -input=false -state="$tf/terraform.tfstate" \
  -var environment="$ENVIRONMENT" -var region="$AWS_REGION" -var enable_capture=true \
  -var lateness_window_seconds="$LATENESS_WINDOW_SECONDS"
TF_DATA_DIR="$tf/data" terraform -chdir="$ROOT/terraform/modules/catalog" output -json \
  -state="$tf/terraform.tfstate" >"$tf/outputs.json" 2>"$tf/last.log" || { cat "$tf/last.log" >&2; exit 1; }

say "provisioning the local stack"
"$FLIGHT_LOCAL" provision --outputs "$tf/outputs.json" --stack "$LOCAL_DIR/stack.json"

say "starting the dispatcher (log: $LOCAL_DIR/dispatcher.log)"
# Once ready, it writes $LOCAL_ENV: the services' env, the stack's names, its pid.
rm -f "$LOCAL_ENV"
setsid "$FLIGHT_LOCAL" dispatch --stack "$LOCAL_DIR/stack.json" \
  --env-file "$LOCAL_ENV" --services-env "$FC_STATE_DIR/services.env" \
  >"$LOCAL_DIR/dispatcher.log" 2>&1 </dev/null &
dispatcher=$!
for _ in $(seq 300); do
  [ -f "$LOCAL_ENV" ] && break
  alive "$dispatcher" || { say "the dispatcher exited:"; cat "$LOCAL_DIR/dispatcher.log" >&2; exit 1; }
  sleep 0.1
done
[ -f "$LOCAL_ENV" ] || { say "the dispatcher did not get ready in 30 s"; exit 1; }
bus="$(recorded "$LOCAL_ENV" FC_BUS)"
event_table="$(recorded "$LOCAL_ENV" FC_EVENT_TABLE)"
capture_table="$(recorded "$LOCAL_ENV" FC_CAPTURE_TABLE)"

say "putting every sample story on bus $bus and waiting for its measurements"
FC_LOCAL_DIR="$LOCAL_DIR" bash "$ROOT/scripts/put-events.sh" --report "$ROOT"/events/*.json
say "putting the AWS documentation's example events (events/aws/: Config, Control Tower, Systems Manager; no producer code, docs/aws-sources.md)"
FC_LOCAL_DIR="$LOCAL_DIR" bash "$ROOT/scripts/put-events.sh" --report "$ROOT"/events/aws/*.json

say "each SLO's error budget and burn rates now (flightctl report)"
(
  # shellcheck disable=SC1090
  source "$LOCAL_ENV"
  "$(cargo_bin flightctl)" report
)

# The same report as one HTML page with charts (docs/report.md).
report_html="$LOCAL_DIR/report.html"
# shellcheck disable=SC1090
(source "$LOCAL_ENV" && "$(cargo_bin flightctl)" report --html "$report_html" >/dev/null)
say "the HTML report of this run: $report_html"
say "done in $((SECONDS - started)) s"

if [ -n "$keep" ]; then
  cat <<EOF

The local stack is running (stop it with: scripts/local.sh stop).
  DynamoDB Local   $FC_DYNAMODB_ENDPOINT   tables $event_table, $capture_table
  moto server      $FC_AWS_ENDPOINT   bus $bus, a queue per rule, CloudWatch
  dispatcher       pid $dispatcher, log $LOCAL_DIR/dispatcher.log

Talk to it:
  eval "\$(grep -v _PID= $LOCAL_ENV)"; eval "\$(scripts/setup.sh --env)"
  scripts/put-events.sh events/guardrail.json        # a test run, proven through the capture table
  aws events put-events --endpoint-url \$FC_AWS_ENDPOINT --entries file://my-entries.json   # "EventBusName": "$bus"
  aws dynamodb scan --endpoint-url \$FC_DYNAMODB_ENDPOINT --table-name $event_table
EOF
fi
