#!/usr/bin/env bash
# A scripted put-events test run, proven through the capture table (SPEC §5):
# stamps the PutEvents entry files with a fresh test-run id (times moved so
# each file's latest event is now, durations kept; event and aggregate ids made
# unique to the run), puts them on the bus with `aws events put-events`, then
# polls the capture table until the measurements they should produce (computed
# by the offline replay of the same stamped files) arrive or the timeout
# passes, and prints what arrived, what was expected and what is missing.
#
#   scripts/put-events.sh [options] FILE...
#     (default)         the local stack left running by `scripts/local.sh --keep`
#     --env NAME        a deployed environment (AWS credentials from the usual
#                       AWS configuration; bus and capture table from
#                       `terraform output` of terraform/environments/NAME, else
#                       flight-controller-NAME and flight-controller-NAME-capture)
#     --timeout SECONDS how long to wait (default 60 locally, 900 deployed)
#     --run-id ID       the test-run id (default: a fresh one)
#     --report          also print, per metric, the measurements and SLO status
#
# Exit status: 0 when everything expected arrived, 1 when not (or when the
# run could not be made), 2 on usage errors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="${FC_LOCAL_DIR:-${TMPDIR:-/tmp}/flight-controller-local-${USER:-$(id -un)}}"

say() { printf 'put-events: %s\n' "$*" >&2; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
usage_error() { say "$*"; usage >&2; exit 2; }

env_name="" timeout="" run_id="" report=()
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --env) [ $# -ge 2 ] || usage_error "--env needs a name"; env_name="$2"; shift 2 ;;
    --timeout) [[ "${2:-}" =~ ^[0-9]+$ ]] || usage_error "--timeout needs a whole number of seconds"; timeout="$2"; shift 2 ;;
    --run-id) [ -n "${2:-}" ] || usage_error "--run-id needs a value"; run_id="$2"; shift 2 ;;
    --report) report=(--report); shift ;;
    -*) usage_error "unknown option $1" ;;
    *) files+=("$1"); shift ;;
  esac
done
[ ${#files[@]} -gt 0 ] || usage_error "no entry files given"
for f in "${files[@]}"; do [ -f "$f" ] || usage_error "no such file: $f"; done

eval "$(bash "$ROOT/scripts/setup.sh" --env)"
command -v aws >/dev/null || { say "the aws CLI is missing: run scripts/setup.sh"; exit 1; }

endpoint=()
alarm_prefix=()
if [ -z "$env_name" ]; then
  if [ ! -f "$LOCAL_DIR/local.env" ]; then
    say "no local stack is running ($LOCAL_DIR/local.env is missing): start one with scripts/local.sh --keep, or give --env NAME"
    exit 1
  fi
  # shellcheck disable=SC1091
  source "$LOCAL_DIR/local.env"
  bus="$FC_BUS" capture_table="$FC_CAPTURE_TABLE"
  endpoint=(--endpoint-url "$FC_AWS_ENDPOINT")
  [ "$FC_SLO_ALARM_PREFIX" = "-" ] || alarm_prefix=(--alarm-prefix "$FC_SLO_ALARM_PREFIX")
  flight_local="$FC_LOCAL_BIN"
  timeout="${timeout:-60}"
  where="the local stack"
else
  [[ "$env_name" =~ ^[a-z][a-z0-9-]{0,11}$ ]] || usage_error "--env: '$env_name' is not an environment name"
  # Deployed: the SDK's and the CLI's usual configuration, no local endpoints.
  unset FC_AWS_ENDPOINT FC_DYNAMODB_ENDPOINT
  aws sts get-caller-identity >/dev/null 2>&1 ||
    { say "no usable AWS credentials (aws sts get-caller-identity failed): configure them for environment $env_name"; exit 1; }
  outputs="$(terraform -chdir="$ROOT/terraform/environments/$env_name" output -json 2>/dev/null || true)"
  read -r bus capture_table < <(printf '%s' "${outputs:-{\}}" | python3 -c '
import json, sys
try: o = json.load(sys.stdin)
except ValueError: o = {}
v = lambda k, d: (o.get(k) or {}).get("value") or d
env = sys.argv[1]
print(v("event_bus_name", "flight-controller-" + env), v("capture_table_name", "flight-controller-%s-capture" % env))' "$env_name")
  alarm_prefix=(--alarm-prefix "flight-controller-$env_name-slo-")
  cargo build --quiet --manifest-path "$ROOT/Cargo.toml" -p flight-local
  flight_local="$(cargo metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/flight-local"
  timeout="${timeout:-900}"
  where="environment $env_name"
fi

run_id="${run_id:-run-$(date -u +%Y%m%dT%H%M%SZ)-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mapfile -t stamped < <("$flight_local" stamp --out "$work" --run-id "$run_id" --bus "$bus" "${files[@]}")
say "test run $run_id on $where: putting ${#stamped[@]} file(s) on bus $bus"
for f in "${stamped[@]}"; do
  answer="$(aws events put-events "${endpoint[@]}" --entries "file://$f" --output json)"
  failed="$(printf '%s' "$answer" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("FailedEntryCount", 0))')"
  if [ "$failed" != 0 ]; then
    say "PutEvents refused $failed entries of $(basename "$f"):"
    printf '%s\n' "$answer" >&2
    exit 1
  fi
done

say "waiting up to ${timeout}s for the measurements in capture table $capture_table"
status=0
"$flight_local" prove --capture-table "$capture_table" --run-id "$run_id" --timeout "$timeout" \
  "${report[@]}" "${alarm_prefix[@]}" "${stamped[@]}" || status=$?
[ "$status" = 0 ] && say "PASSED: run $run_id" || say "FAILED: run $run_id (see above)"
exit "$status"
