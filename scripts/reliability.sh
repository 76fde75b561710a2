#!/usr/bin/env bash
# Prints the figures of the README's Reliability section, measured now: the
# property tests (generated histories and deliveries), the fault matrix
# (in memory and on DynamoDB Local), the concurrency tests (DynamoDB
# Local), the dead-letter test (the local dispatcher on moto), the hostile
# input tests and the fuzz corpus replay. Each test asserts its own "lost 0,
# doubled 0"; this prints what they measured.
#
#   scripts/reliability.sh              the tests above (about 2 minutes once built)
#   scripts/reliability.sh --fuzz N     also fuzz each parser for N seconds (scripts/fuzz.sh)
#
# Starts DynamoDB Local and moto (scripts/services.sh) unless they run
# already, and stops what it started. FC_PROPTEST_CASES=N changes the number
# of generated cases; FC_PROPTEST_RANDOM=1 draws new ones instead of the
# fixed seed behind the README's figures.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

fuzz_seconds=""
case "${1:-}" in
  "") ;;
  --fuzz) fuzz_seconds="${2:?--fuzz needs a number of seconds}" ;;
  -h | --help) usage; exit 0 ;;
  *) say "unknown argument '$1' (try --help)"; exit 2 ;;
esac

bash scripts/setup.sh >&2
eval "$(bash scripts/setup.sh --env)"
started=""
if ! bash scripts/services.sh env >/dev/null 2>&1; then
  started=1
  trap 'bash scripts/services.sh stop >&2' EXIT
  bash scripts/services.sh start >/dev/null
fi
eval "$(bash scripts/services.sh env)"

LOG="$(mktemp)"
trap 'rm -f "$LOG"; [ -z "$started" ] || bash scripts/services.sh stop >&2' EXIT
status=0
run() {
  local started_at=$SECONDS
  echo "==> cargo test $*" >&2
  cargo test "$@" -- --nocapture >"$LOG" 2>&1 || status=1
  grep '^reliability:' "$LOG" || true
  grep -E '^test result:' "$LOG" | sed "s/^/  ($*) /" >&2
  [ "$status" = 0 ] || { tail -n 60 "$LOG" >&2; }
  echo "  took $((SECONDS - started_at)) s" >&2
}
run -p flight-core --test properties --test fault_injection --test hostile_input --test fuzz_corpus
run -p flight-aws --test integration_faults --test integration_concurrency
run -p flight-local --test dead_letter

if [ -n "$fuzz_seconds" ]; then
  bash scripts/fuzz.sh "$fuzz_seconds" | grep '^fuzz:' || status=1
fi
if [ "$status" = 0 ]; then
  echo "reliability: all passed: lost 0, doubled 0 (outside the accepted-then-died case), wrong 0, no panic"
else
  echo "reliability: FAILED (see above)"
fi
exit "$status"
