#!/usr/bin/env bash
# Smoke test of the ingest function under the Lambda runtime emulator:
# `cargo lambda watch` runs it (against the local stack left by
# `scripts/local.sh --keep`), `cargo lambda invoke --data-file` sends it a
# fixture EventBridge event, and its answer must name the event it stored.
# Everything started here is stopped at exit; the wait is bounded by
# FC_LAMBDA_WATCH_TIMEOUT seconds (default 600, a first compile included).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
FIXTURE="$ROOT/lambdas/ingest/fixtures/guardrail-activated.json"
TIMEOUT="${FC_LAMBDA_WATCH_TIMEOUT:-600}"

[ -f "$LOCAL_ENV" ] || die "no local stack: start one with scripts/local.sh --keep"
# shellcheck disable=SC1090
source "$LOCAL_ENV"
eval "$(bash "$ROOT/scripts/setup.sh" --env)"

# The function's environment as Terraform sets it (names included), from the stack file.
function_env="$("$FC_LOCAL_BIN" function-env --stack "$FC_STACK_FILE" --event-type GuardrailActivated)"
port="$(free_port)"
log="$LOCAL_DIR/lambda-watch.log"

watch_pid=""
stop_watch() {
  stop_group "$watch_pid" "$port"
  watch_pid=""
}
trap stop_watch EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting cargo lambda watch (ingest, port $port; log $log)"
cd "$ROOT"
setsid cargo lambda watch --package ingest --invoke-address 127.0.0.1 --invoke-port "$port" \
  --env-var "$function_env" \
  --env-var "FC_DYNAMODB_ENDPOINT=$FC_DYNAMODB_ENDPOINT,FC_AWS_ENDPOINT=$FC_AWS_ENDPOINT,AWS_ACCESS_KEY_ID=test,AWS_SECRET_ACCESS_KEY=test,AWS_REGION=$AWS_REGION" \
  >"$log" 2>&1 </dev/null &
watch_pid=$!

deadline=$((SECONDS + TIMEOUT))
until listening "$port"; do
  kill -0 "$watch_pid" 2>/dev/null || { say "cargo lambda watch exited:"; tail -n 30 "$log" >&2; exit 1; }
  [ "$SECONDS" -lt "$deadline" ] || { say "nothing listens on port $port after ${TIMEOUT}s"; tail -n 30 "$log" >&2; exit 1; }
  sleep 0.2
done

say "invoking ingest with $(basename "$FIXTURE") (the first invocation compiles it)"
answer="$(timeout "$((deadline - SECONDS > 10 ? deadline - SECONDS : 10))" \
  cargo lambda invoke ingest --invoke-address 127.0.0.1 --invoke-port "$port" --data-file "$FIXTURE")" ||
  { say "the invocation failed:"; tail -n 30 "$log" >&2; exit 1; }
printf '%s\n' "$answer"
case "$answer" in
  *'"event_id":"7f2c6f1e-0d7a-4c39-9b1e-1d6f5a0c0001"'*) say "PASSED: ingest answered under cargo lambda watch" ;;
  *) say "FAILED: the answer does not name the fixture's event"; exit 1 ;;
esac
