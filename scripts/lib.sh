# Shell helpers shared by scripts/*.sh; source it first:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Sets ROOT (the repository), LOCAL_DIR (the local stack's state and logs:
# $FC_LOCAL_DIR, default ${TMPDIR:-/tmp}/flight-controller-local-$USER) and
# LOCAL_ENV (the env file of a running local stack, written by its dispatcher).
# Messages are prefixed with the script's name (SCRIPT, default: its file
# name without .sh).
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="${FC_LOCAL_DIR:-${TMPDIR:-/tmp}/flight-controller-local-${USER:-$(id -un)}}"
LOCAL_ENV="$LOCAL_DIR/local.env"
SCRIPT="${SCRIPT:-$(basename "$0" .sh)}"

# say MESSAGE...: a line on stderr; die MESSAGE...: the same, then exit 1.
say() { printf '%s: %s\n' "$SCRIPT" "$*" >&2; }
die() { say "$*"; exit 1; }

# usage: the script's header comment (from line 2 to the first line that is not a comment).
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# alive PID: whether the process runs.
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# listening PORT: whether something accepts TCP connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: a port nothing listens on, below the kernel's ephemeral range
# (so no outgoing connection holds it).
free_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 12000))
    listening "$port" || { echo "$port"; return 0; }
  done
  die "no free port found in 20000-31999"
}

# recorded FILE NAME: the value an env file of ours exports as NAME (read, never sourced).
recorded() { sed -n "s/^export $2=//p" "$1" 2>/dev/null | tr -d "'\"" | tail -n1; }

# stop_group PID [PORT]: stops the process group PID that we started with
# setsid (TERM, then KILL after 15 s) and waits until it is gone and nothing
# listens on PORT.
stop_group() {
  local pid="$1" port="${2:-}" deadline signal=TERM
  [ -n "$pid" ] || return 0
  # Only a group we started: its leader is $pid (setsid made it so).
  if alive "$pid" && [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then
    kill -TERM -- "-$pid" 2>/dev/null || true
  fi
  deadline=$((SECONDS + 15))
  while alive "$pid" || { [ -n "$port" ] && listening "$port"; }; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      [ "$signal" = KILL ] && die "process group $pid (port $port) does not stop"
      signal=KILL
      say "process group $pid did not stop on TERM: sending KILL"
      kill -KILL -- "-$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
    fi
    sleep 0.1
  done
}

# cargo_bin NAME: builds the workspace's binaries (debug) and prints the path of
# NAME's. Every script builds the same set: a `-p` selection would unify the
# dependencies' features differently and rebuild the AWS SDK once per set.
cargo_bin() {
  cargo build --quiet --manifest-path "$ROOT/Cargo.toml" --workspace --bins >&2
  echo "${CARGO_TARGET_DIR:-$ROOT/target}/debug/$1"
}
