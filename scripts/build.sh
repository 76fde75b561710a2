#!/usr/bin/env bash
# Builds the Lambda functions for arm64 (provided.al2023) with cargo-lambda and
# puts their zips in dist/: dist/ingest.zip, dist/settle.zip and
# dist/capture.zip. Terraform deploys them from there (terraform/README.md).
#
#   scripts/build.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
FUNCTIONS=(ingest settle capture)

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  usage
  exit 0
fi

bash scripts/setup.sh
eval "$(bash scripts/setup.sh --env)"
target_dir="${CARGO_TARGET_DIR:-target}"

packages=()
for f in "${FUNCTIONS[@]}"; do packages+=(--package "$f"); done
echo "building ${FUNCTIONS[*]} for arm64 (release, size-optimised; several minutes on a cold cache)"
cargo lambda build --release --arm64 --output-format zip "${packages[@]}"

mkdir -p dist
for f in "${FUNCTIONS[@]}"; do
  zip="$target_dir/lambda/$f/bootstrap.zip"
  [ -f "$zip" ] || die "$zip was not produced"
  cp "$zip" "dist/$f.zip"
  printf '%-28s %8d bytes\n' "dist/$f.zip" "$(stat -c %s "dist/$f.zip")"
done
