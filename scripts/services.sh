#!/usr/bin/env bash
# The local stack: DynamoDB Local and moto_server on 127.0.0.1, on free ports.
#
#   scripts/services.sh start   start both (or, when they run already, print their env)
#   scripts/services.sh env     print the env file: eval "$(scripts/services.sh env)"
#   scripts/services.sh stop    stop exactly what `start` started, and wait until the ports are free
#
# The env file exports FC_DYNAMODB_ENDPOINT (DynamoDB Local), FC_AWS_ENDPOINT
# (moto: EventBridge, SQS, CloudWatch, Logs), dummy AWS credentials and region,
# and the process ids. It lives in $FC_STATE_DIR (default
# ${TMPDIR:-/tmp}/flight-controller-$USER), with the services' logs.
# Tools come from scripts/setup.sh (run it first); FC_SERVICES_TIMEOUT (seconds,
# default 60) bounds the wait for each service to answer.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$ROOT/scripts"
STATE_DIR="${FC_STATE_DIR:-${TMPDIR:-/tmp}/flight-controller-${USER:-$(id -un)}}"
ENV_FILE="$STATE_DIR/services.env"
TIMEOUT="${FC_SERVICES_TIMEOUT:-60}"

running() {
  [ -f "$ENV_FILE" ] && alive "$(recorded "$ENV_FILE" FC_DYNAMODB_PID)" && alive "$(recorded "$ENV_FILE" FC_MOTO_PID)"
}

# start_service NAME PORT LOG CMD...: starts CMD in its own session (so its
# whole process group can be stopped) and prints its pid, which is the group id.
start_service() {
  local name="$1" log="$3"
  shift 3
  setsid "$@" >"$log" 2>&1 </dev/null &
  local pid=$!
  say "$name starting (pid $pid), log $log"
  echo "$pid"
}

# wait_for NAME PID PORT LOG URL: polls until the service answers HTTP on URL.
wait_for() {
  local name="$1" pid="$2" port="$3" log="$4" url="$5"
  local deadline=$((SECONDS + TIMEOUT))
  while :; do
    if ! alive "$pid"; then
      say "$name exited before answering on port $port; last lines of $log:"
      tail -n 30 "$log" >&2 || true
      return 1
    fi
    if curl -s -o /dev/null --max-time 2 "$url"; then
      say "$name answers on $url"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "$name did not answer on $url within ${TIMEOUT}s; last lines of $log:"
      tail -n 30 "$log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

cmd_stop() {
  if [ ! -f "$ENV_FILE" ]; then
    say "nothing to stop (no $ENV_FILE)"
    return 0
  fi
  stop_group "$(recorded "$ENV_FILE" FC_DYNAMODB_PID)" "$(recorded "$ENV_FILE" FC_DYNAMODB_PORT)"
  stop_group "$(recorded "$ENV_FILE" FC_MOTO_PID)" "$(recorded "$ENV_FILE" FC_MOTO_PORT)"
  rm -f "$ENV_FILE"
  say "stopped"
}

cmd_start() {
  mkdir -p "$STATE_DIR"
  if running; then
    say "already running (env in $ENV_FILE)"
    cat "$ENV_FILE"
    return 0
  fi
  # Leftovers of a half-started or half-dead stack: stop what was recorded.
  [ -f "$ENV_FILE" ] && cmd_stop

  local venv="${FC_TOOLS:-$HOME/.cache/flight-controller}/venv"
  local moto="$venv/bin/moto_server"
  [ -x "$moto" ] || moto="$(command -v moto_server || true)"
  [ -n "$moto" ] || die "moto_server not found: run scripts/setup.sh"
  local ddb_dir="${DYNAMODB_LOCAL_DIR:-}"
  if [ -z "$ddb_dir" ]; then
    ddb_dir="$(bash "$HERE/setup.sh" --env | sed -n "s/^export DYNAMODB_LOCAL_DIR='\(.*\)'$/\1/p")"
  fi
  [ -f "$ddb_dir/DynamoDBLocal.jar" ] || die "DynamoDB Local not found (DYNAMODB_LOCAL_DIR='$ddb_dir'): run scripts/setup.sh"
  command -v java >/dev/null || die "java not found (17+ is needed for DynamoDB Local)"
  command -v curl >/dev/null || die "curl not found"

  local ddb_port moto_port ddb_pid moto_pid
  ddb_port="$(free_port)"
  moto_port="$(free_port)"
  while [ "$moto_port" = "$ddb_port" ]; do moto_port="$(free_port)"; done

  # From the state dir: DynamoDB Local writes a metadata file into its working
  # directory. -sharedDb: one database whatever the credentials and region.
  ddb_pid="$(cd "$STATE_DIR" && start_service "DynamoDB Local" "$ddb_port" "$STATE_DIR/dynamodb.log" \
    java -Djava.library.path="$ddb_dir/DynamoDBLocal_lib" -jar "$ddb_dir/DynamoDBLocal.jar" \
    -inMemory -sharedDb -disableTelemetry -port "$ddb_port")"
  moto_pid="$(start_service "moto_server" "$moto_port" "$STATE_DIR/moto.log" \
    "$(dirname "$moto")/python" "$HERE/moto_server.py" -H 127.0.0.1 -p "$moto_port")"

  # Record at once, so `stop` can clean up even if waiting fails.
  {
    echo "export FC_DYNAMODB_ENDPOINT=http://127.0.0.1:$ddb_port"
    echo "export FC_AWS_ENDPOINT=http://127.0.0.1:$moto_port"
    echo "export AWS_ACCESS_KEY_ID=test"
    echo "export AWS_SECRET_ACCESS_KEY=test"
    echo "export AWS_REGION=us-east-1"
    echo "export AWS_DEFAULT_REGION=us-east-1"
    echo "export FC_DYNAMODB_PORT=$ddb_port"
    echo "export FC_DYNAMODB_PID=$ddb_pid"
    echo "export FC_MOTO_PORT=$moto_port"
    echo "export FC_MOTO_PID=$moto_pid"
  } >"$ENV_FILE"

  if ! wait_for "DynamoDB Local" "$ddb_pid" "$ddb_port" "$STATE_DIR/dynamodb.log" "http://127.0.0.1:$ddb_port/" ||
    ! wait_for "moto_server" "$moto_pid" "$moto_port" "$STATE_DIR/moto.log" "http://127.0.0.1:$moto_port/moto-api/"; then
    cmd_stop
    die "start failed"
  fi
  cat "$ENV_FILE"
}

cmd_env() {
  [ -f "$ENV_FILE" ] || die "not running (no $ENV_FILE): run scripts/services.sh start"
  cat "$ENV_FILE"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  *) die "usage: $0 start|stop|env" ;;
esac
