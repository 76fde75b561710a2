#!/usr/bin/env bash
# End-to-end tests through the capture table, with scripts/put-events.sh
# (`flightctl test-run`): the way a producer's events travel (PutEvents,
# rules, functions, store, metrics), proven asynchronously.
#
#   Local (always): on the stack left by `scripts/local.sh --keep` (started
#   here, and stopped at the end, when none runs):
#     - a story proven twice: two runs of one file stay apart;
#     - a run that cannot have finished (timeout 0, lateness window 2 s)
#       reports what is missing and exits 1;
#     - usage errors exit 2.
#   Deployed: when FC_E2E_ENV names an environment and AWS credentials work,
#   every sample story is proven there (scripts/put-events.sh --env); otherwise
#   this says it skipped and why.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PUT="$ROOT/scripts/put-events.sh"

passed=0
failed=0
check() {
  local name="$1" want="$2" got="$3"
  if [ "$want" = "$got" ]; then
    printf 'e2e: ok    %s\n' "$name"
    passed=$((passed + 1))
  else
    printf 'e2e: FAIL  %s (exit %s, wanted %s)\n' "$name" "$got" "$want"
    failed=$((failed + 1))
  fi
}
# run NAME WANT_STATUS [PATTERN] -- CMD...: runs CMD, checks its exit status
# and, if given, that its output holds PATTERN.
run() {
  local name="$1" want="$2" pattern="$3" out status=0
  shift 4
  out="$("$@" 2>&1)" || status=$?
  if [ -n "$pattern" ] && ! grep -q -- "$pattern" <<<"$out"; then
    printf '%s\n' "$out" | tail -n 20
    check "$name (output holds '$pattern')" yes no
    return
  fi
  [ "$status" = "$want" ] || printf '%s\n' "$out" | tail -n 20
  check "$name" "$want" "$status"
}

started_here=""
if [ ! -f "$LOCAL_ENV" ]; then
  echo "e2e: no local stack running: starting one (scripts/local.sh --keep)"
  started_here=1
  trap 'bash "$ROOT/scripts/local.sh" stop' EXIT
  bash "$ROOT/scripts/local.sh" --keep >/dev/null
fi

run "local: a guardrail story is proven through the capture table" 0 "as expected" -- \
  bash "$PUT" "$ROOT/events/guardrail.json"
run "local: a second run of the same story stays apart from the first" 0 "7 of 7 expected measurements arrived" -- \
  bash "$PUT" "$ROOT/events/guardrail.json"
run "local: a run that cannot have finished reports what is missing" 1 "MISSING (expected, not captured)" -- \
  bash "$PUT" --timeout 0 "$ROOT/events/identity.json"
run "local: no entry files is a usage error" 2 "no entry files given" -- bash "$PUT"
run "local: an unknown option is a usage error" 2 "unexpected argument '--frobnicate'" -- bash "$PUT" --frobnicate "$ROOT/events/guardrail.json"

if [ -n "$started_here" ]; then
  bash "$ROOT/scripts/local.sh" stop
  trap - EXIT
fi

if [ -z "${FC_E2E_ENV:-}" ]; then
  echo "e2e: deployed tests skipped: FC_E2E_ENV is not set (set it to an environment deployed with enable_capture = true, with AWS credentials, to run them)"
elif ! (eval "$(bash "$ROOT/scripts/setup.sh" --env)"; unset FC_AWS_ENDPOINT FC_DYNAMODB_ENDPOINT; aws sts get-caller-identity >/dev/null 2>&1); then
  echo "e2e: deployed tests skipped: no usable AWS credentials for environment $FC_E2E_ENV (aws sts get-caller-identity failed)"
else
  # shellcheck disable=SC2206
  stories=("$ROOT"/events/*.json)
  run "deployed ($FC_E2E_ENV): every sample story is proven through the capture table" 0 "as expected" -- \
    bash "$PUT" --env "$FC_E2E_ENV" --timeout "${FC_E2E_TIMEOUT:-900}" "${stories[@]}"
fi

echo "e2e: $passed passed, $failed failed"
[ "$failed" = 0 ]
