#!/usr/bin/env bash
# Builds the Lambda functions for arm64 (provided.al2023) with cargo-lambda and
# puts their zips in dist/: dist/ingest.zip, dist/settle.zip and
# dist/capture.zip. Terraform deploys them from there (terraform/README.md).
#
#   scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
FUNCTIONS=(ingest settle capture)

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
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
  [ -f "$zip" ] || { echo "build.sh: $zip was not produced" >&2; exit 1; }
  cp "$zip" "dist/$f.zip"
  printf '%-28s %8d bytes\n' "dist/$f.zip" "$(stat -c %s "dist/$f.zip")"
done
