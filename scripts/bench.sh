#!/usr/bin/env bash
# Benchmarks and budgets: measures, prints a table (Markdown) and says which
# budgets hold; exit 1 if any fails (--no-fail: exit 0 anyway).
#
#   scripts/bench.sh [--no-fail] [--skip-zip-build]
#
# What it measures (README, Performance):
#   - engine throughput (criterion, lambdas/flight-core/benches/engine.rs):
#     short aggregates and one aggregate of 10,000 activate/pass cycles;
#   - `flightctl replay` of a generated file of 1,000,000 events: time and
#     peak memory (/usr/bin/time -v);
#   - the ingest handler end to end against DynamoDB Local and moto, with the
#     deployed settings (window 300 s, then the sweep): events/s and AWS
#     requests per event, counted by the adapters;
#   - start to ready of a native release `ingest` binary under
#     `cargo lambda watch --only-lambda-apis`, and its peak memory;
#   - the size of every dist/*.zip (built by scripts/build.sh first, unless
#     --skip-zip-build: then the zips in dist/ are measured as they are).
#
# Installs what it needs (scripts/setup.sh; GNU time with apt-get if missing),
# starts DynamoDB Local, moto and the emulator in a folder of its own and stops
# them at exit. About 5 minutes once built; a cold first run also builds the
# release binaries and the arm64 zips (10-20 minutes on 2 cores).
#
# Environment: CARGO_TARGET_DIR (default target); FC_LAMBDA_TARGET_DIR, where
# scripts/build.sh builds the zips (default: CARGO_TARGET_DIR); FC_BENCH_EVENTS
# (replay, default 1000000), FC_BENCH_INGEST_EVENTS (2000), FC_BENCH_CYCLES
# (500), FC_BENCH_READY_RUNS (15).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

NO_FAIL=""
BUILD_ZIPS=1
for arg in "$@"; do
  case "$arg" in
    --no-fail) NO_FAIL="--no-fail" ;;
    --skip-zip-build) BUILD_ZIPS="" ;;
    -h | --help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

EVENTS="${FC_BENCH_EVENTS:-1000000}"
INGEST_EVENTS="${FC_BENCH_INGEST_EVENTS:-2000}"
CYCLES="${FC_BENCH_CYCLES:-500}"
READY_RUNS="${FC_BENCH_READY_RUNS:-15}"

step() { printf '\n==> %s\n' "$*" >&2; }
say() { printf 'bench: %s\n' "$*" >&2; }

step "installing tools (idempotent)"
bash scripts/setup.sh
eval "$(bash scripts/setup.sh --env)"
if [ ! -x /usr/bin/time ]; then
  say "installing GNU time (peak memory of flightctl replay)"
  { apt-get update -qq && apt-get install -y -qq time; } >&2 ||
    { say "cannot install GNU time: apt-get install time"; exit 2; }
fi

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/flight-bench.XXXXXX")"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
WATCH_PID=""

cleanup() {
  if [ -n "$WATCH_PID" ]; then
    kill -TERM -- "-$WATCH_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$WATCH_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$WATCH_PID" 2>/dev/null || true
  fi
  FC_STATE_DIR="$WORK/services" bash "$ROOT/scripts/services.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "$BUILD_ZIPS" ]; then
  step "building the Lambda zips (scripts/build.sh)"
  CARGO_TARGET_DIR="${FC_LAMBDA_TARGET_DIR:-$TARGET_DIR}" bash scripts/build.sh >&2
else
  say "--skip-zip-build: measuring dist/*.zip as they are"
fi

step "building flightctl, ingest and flight-bench (release, the Lambda profile)"
cargo build --release --quiet -p flightctl -p ingest -p flight-bench
BIN="$TARGET_DIR/release"

step "engine throughput (cargo bench, criterion)"
export CRITERION_HOME="$WORK/criterion"
cargo bench --quiet -p flight-core --bench engine -- --warm-up-time 1 --measurement-time 3 >&2 ||
  say "the criterion benchmarks failed"

step "flightctl replay of $EVENTS generated events"
"$BIN/flight-bench" gen-events --events "$EVENTS" --out "$WORK/events.json"
if /usr/bin/time -v "$BIN/flightctl" replay "$WORK/events.json" >/dev/null 2>"$WORK/replay.err"; then
  awk -v events="$EVENTS" '
    /Elapsed \(wall clock\) time/ {
      n = split($NF, t, ":"); s = 0
      for (i = 1; i <= n; i++) s = s * 60 + t[i]
      printf "replay.seconds\t%s\n", s
    }
    /Maximum resident set size/ { printf "replay.max_rss_kib\t%s\n", $NF }
    END { printf "replay.events\t%s\n", events }
  ' "$WORK/replay.err" >>"$RESULTS"
  grep -m1 '^replayed' "$WORK/replay.err" >&2 || true
else
  say "flightctl replay failed:"; tail -n 20 "$WORK/replay.err" >&2
fi
rm -f "$WORK/events.json"

step "starting DynamoDB Local and moto (in $WORK/services)"
FC_STATE_DIR="$WORK/services" bash scripts/services.sh start >/dev/null
eval "$(FC_STATE_DIR="$WORK/services" bash scripts/services.sh env)"

step "ingest end to end: $INGEST_EVENTS events, then $CYCLES cycles on one aggregate"
"$BIN/flight-bench" ingest --events "$INGEST_EVENTS" --cycles "$CYCLES" >>"$RESULTS" ||
  say "the ingest benchmark failed"

step "start to ready under cargo lambda watch --only-lambda-apis ($READY_RUNS runs of each kind)"
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
setsid cargo lambda watch --only-lambda-apis --invoke-address 127.0.0.1 --invoke-port "$port" \
  >"$WORK/watch.log" 2>&1 </dev/null &
WATCH_PID=$!
for _ in $(seq 300); do listening "$port" && break; sleep 0.1; done
if listening "$port"; then
  "$BIN/flight-bench" ready --binary "$BIN/ingest" --emulator "http://127.0.0.1:$port" \
    --runs "$READY_RUNS" >>"$RESULTS" || say "the start-to-ready benchmark failed"
else
  say "cargo lambda watch does not listen on port $port:"; tail -n 20 "$WORK/watch.log" >&2
fi

step "results ($(uname -m), $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ))"
zips=()
for z in dist/*.zip; do [ -f "$z" ] && zips+=(--zip "$z"); done
"$BIN/flight-bench" report --results "$RESULTS" --criterion "$CRITERION_HOME" "${zips[@]}" $NO_FAIL
