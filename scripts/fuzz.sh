#!/usr/bin/env bash
# Fuzzes the envelope and catalog parsers with cargo fuzz (libFuzzer) for a
# bounded time, like a benchmark: not part of scripts/test.sh, which replays
# the committed corpus (fuzz/corpus) in a normal cargo test instead.
#
#   scripts/fuzz.sh [SECONDS]            each target for SECONDS (default 60)
#   scripts/fuzz.sh --update-corpus ...  also merge new coverage into fuzz/corpus
#
# Prints, per target, the executions and the corpus, then
# "fuzz: N passed, N failed". A crash, a panic, a leak, an input slower than
# 10 s or over 2 GB of memory fails its target; libFuzzer's reproducer is
# left in fuzz/artifacts/TARGET/ (replay it: cargo fuzz run TARGET FILE).
#
# The toolchain here is stable only: RUSTC_BOOTSTRAP=1 lets cargo fuzz pass
# the sanitizer flags it needs. cargo-fuzz is installed if missing
# (cargo install cargo-fuzz --locked). The instrumented build lives in
# $FC_FUZZ_TARGET_DIR (default ~/.cache/flight-controller/target-fuzz).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
seconds=60
update=""
for arg in "$@"; do
  case "$arg" in
    --update-corpus) update=1 ;;
    -h | --help) usage; exit 0 ;;
    *[!0-9]* | "") say "unknown argument '$arg' (try --help)"; exit 2 ;;
    *) seconds="$arg" ;;
  esac
done

if ! cargo fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  cargo install cargo-fuzz --locked >&2
fi

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FC_FUZZ_TARGET_DIR:-$HOME/.cache/flight-controller/target-fuzz}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT/fuzz"

passed=0 failed=0 total=0
for target in envelope catalog; do
  echo "==> fuzz $target for ${seconds}s (building first)" >&2
  mkdir -p "$WORK/$target" "corpus/$target"
  log="$WORK/$target.log"
  status=0
  # New inputs go to the first corpus directory (the scratch one); the
  # committed corpus is read as seeds.
  cargo fuzz run "$target" "$WORK/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)"
  found="$(find "$WORK/$target" -type f | wc -l | tr -d ' ')"
  if [ "$status" = 0 ] && [ -n "$runs" ]; then
    passed=$((passed + 1))
    total=$((total + runs))
    echo "fuzz: $target: $runs executions in ${seconds}s, no crash; $(find "corpus/$target" -type f | wc -l | tr -d ' ') seed inputs, $found new inputs found"
  else
    failed=$((failed + 1))
    echo "fuzz: $target: FAILED (exit $status${runs:+, after $runs executions}); last lines of the log:"
    tail -n 40 "$log"
  fi
  if [ -n "$update" ] && [ "$status" = 0 ]; then
    before="$(find "corpus/$target" -type f | wc -l | tr -d ' ')"
    cargo fuzz run "$target" "corpus/$target" "$WORK/$target" -- -merge=1 >"$log.merge" 2>&1
    after="$(find "corpus/$target" -type f | wc -l | tr -d ' ')"
    echo "fuzz: $target: corpus $before -> $after inputs (merged what adds coverage)"
  fi
done
echo "fuzz: $total executions in all"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
