#!/usr/bin/env bash
# A scripted test run, proven through the capture table: `flightctl test-run`
# (see `flightctl test-run --help`) on the local stack left running by
# `scripts/local.sh --keep` (this sources its local.env), or, with --env NAME,
# on a deployed environment (AWS credentials from the usual AWS configuration).
# It stamps the PutEvents entry files for a fresh test run (times moved so each
# file's latest event is now, durations kept; ids made unique to the run), puts
# them on the bus with retries, then polls the capture table until the
# measurements they should produce arrive or the timeout passes, and prints
# what arrived, what was expected and what is missing.
#
#   scripts/put-events.sh [options] FILE...
#     (default)         the local stack left running by `scripts/local.sh --keep`
#     --env NAME        a deployed environment (its bus and capture table
#                       named as `flightctl test-run` names them)
#     --timeout SECONDS how long to wait (default 60 locally, 900 deployed)
#     --run-id ID       the test-run id (default: a fresh one)
#     --report          also print, per metric, the measurements and SLO status
#     --json            print the outcome as JSON
#
# Exit status: 0 when everything expected arrived, 1 when not (or when
# entries could not be put), 2 when it could not run (usage errors, no stack).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

deployed=""
for arg in "$@"; do
  case "$arg" in
    --env | --env=*) deployed=1 ;;
    -h | --help) usage; exit 0 ;;
  esac
done
if [ -n "$deployed" ]; then
  # Deployed: the SDK's usual configuration, no local endpoints.
  unset FC_AWS_ENDPOINT FC_DYNAMODB_ENDPOINT
elif [ -f "$LOCAL_ENV" ]; then
  # shellcheck disable=SC1090
  source "$LOCAL_ENV"
fi
exec "$(cargo_bin flightctl)" test-run "$@"
