#!/usr/bin/env bash
# Checks the Terraform under terraform/ without AWS credentials or network:
#   - formatting (terraform fmt -check)
#   - the provider-less catalog module: init, validate, terraform test
#   - the AWS resource module, read as HCL by Python tests that follow its
#     for_each to the catalog module's outputs, and the event patterns run
#     through moto's EventBridge
#   - checkov, with zero failed checks
#   - where a hashicorp/aws provider is installed locally (TF_PLUGIN_DIR,
#     default /opt/tf-plugins; none can be downloaded here): validate of the
#     resource module and both environments, a plan of the resource module
#     against a mocked provider, and the environment roots on moto server
#     (terraform/tests/apply_on_emulators.py): dev applied, planned again
#     (no changes), compared with what the local stack's provisioner creates,
#     and destroyed (empty state); prod planned against the same emulators
# Prints a line per check and ends with "terraform: N passed, N failed".
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/check-terraform.sh [--help]

Runs the offline Terraform checks (fmt, catalog module tests, HCL tests,
checkov, and provider-backed validation when a local aws provider exists).
Environment:
  TF_PLUGIN_DIR       directory with registry.terraform.io/hashicorp/aws (default /opt/tf-plugins)
  FC_TOOLS            where scripts/setup.sh keeps its tools (default ~/.cache/flight-controller)
  FC_TERRAFORM_APPLY  environment roots applied, re-planned and destroyed on moto (default: dev)
  FC_TERRAFORM_PLAN   environment roots only planned on moto (default: prod)
EOF
}
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

command -v terraform >/dev/null || { echo "check-terraform: terraform is not installed" >&2; exit 1; }
bash scripts/setup.sh >&2
VENV="${FC_TOOLS:-$HOME/.cache/flight-controller}/venv"

WORK="$(mktemp -d)"
emulated_pid=""
cleanup() {
  # The emulator run, if this script stops before it ends: its process group
  # holds the driver, terraform, the providers and moto.
  if [ -n "$emulated_pid" ] && kill -0 "$emulated_pid" 2>/dev/null; then
    kill -TERM -- "-$emulated_pid" 2>/dev/null || true
    wait "$emulated_pid" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export TF_IN_AUTOMATION=1 TF_INPUT=0 PYTHONDONTWRITEBYTECODE=1
# A CLI configuration named but missing only produces warnings; use an empty one.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -e "$TF_CLI_CONFIG_FILE" ]; then
  : >"$WORK/terraformrc"
  export TF_CLI_CONFIG_FILE="$WORK/terraformrc"
fi

# terraform init writes .terraform directories and lock files next to the
# configuration; run it on a copy so the work tree stays clean.
mkdir -p "$WORK/repo"
cp -R terraform events "$WORK/repo/"
COPY="$WORK/repo/terraform"

PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"

# The environment roots on moto (terraform/tests/apply_on_emulators.py) take
# minutes of waiting on the provider's fixed delays, not of CPU: they start
# now, in their own process group, beside the checks below, and report last.
# The local stack's provisioner is compared with the apply when it can be
# built (scripts/local.sh builds the same binary).
if [ -d "$PLUGIN_DIR/registry.terraform.io/hashicorp/aws" ]; then
  roots=()
  for root in ${FC_TERRAFORM_APPLY-dev}; do roots+=(--apply "$root"); done
  for root in ${FC_TERRAFORM_PLAN-prod}; do roots+=(--plan "$root"); done
  : >"$WORK/emulated.note"
  if command -v cargo >/dev/null && flight_local="$(source "$ROOT/scripts/lib.sh" && cargo_bin flight-local 2>"$WORK/build.log")"; then
    roots+=(--flight-local "$flight_local")
  else
    echo "    the local stack is not compared: flight-local was not built ($(tail -n 1 "$WORK/build.log" 2>/dev/null || echo "no cargo"))" >"$WORK/emulated.note"
  fi
  mkdir -p "$WORK/emulated" && cp -R terraform events "$WORK/emulated/"
  setsid "$VENV/bin/python" -u terraform/tests/apply_on_emulators.py --copy "$WORK/emulated" --plugin-dir "$PLUGIN_DIR" \
    "${roots[@]}" >"$WORK/emulated.log" 2>&1 </dev/null &
  emulated_pid=$!
fi

passed=0 failed=0 skipped=0
check() {
  local name="$1"; shift
  printf '==> %s\n' "$name"
  if "$@" >"$WORK/log" 2>&1; then
    passed=$((passed + 1))
    # The tool's own count, where it prints one.
    local counts
    counts="$(grep -E '[0-9]+ passed|^Ran [0-9]+ tests?|^OK|Passed checks' "$WORK/log" | tr '\n' ' ' | sed 's/ *$//' || true)"
    printf '    ok%s\n' "${counts:+ ($counts)}"
  else
    failed=$((failed + 1))
    sed 's/^/    /' "$WORK/log"
    printf '    FAILED: %s\n' "$name"
  fi
}
skip() {
  skipped=$((skipped + 1))
  printf '==> %s\n    skipped: %s\n' "$1" "$2"
}

in_dir() { local dir="$1"; shift; (cd "$dir" && TF_DATA_DIR="$WORK/data/$(echo "$dir" | tr / _)" "$@"); }
init_and_validate() { in_dir "$1" terraform init -no-color -backend=false "${@:2}" && in_dir "$1" terraform validate -no-color; }

check "terraform fmt -check -recursive terraform" terraform fmt -check -recursive -diff terraform
check "modules/catalog: terraform init -backend=false && terraform validate" init_and_validate "$COPY/modules/catalog"
check "modules/catalog: terraform test (real catalog and test catalogs)" in_dir "$COPY/modules/catalog" terraform test -no-color
check "terraform/tests: HCL of the resource module, IAM wildcards, event patterns on moto" \
  "$VENV/bin/python" -m unittest discover -s terraform/tests -t terraform/tests
check "checkov -d terraform (zero failed checks)" "$VENV/bin/checkov" -d terraform --quiet --compact --skip-download

if [ -d "$PLUGIN_DIR/registry.terraform.io/hashicorp/aws" ]; then
  check "modules/flight-controller: terraform validate (aws provider from $PLUGIN_DIR)" \
    init_and_validate "$COPY/modules/flight-controller" -plugin-dir="$PLUGIN_DIR"
  for environment in dev prod; do
    check "environments/$environment: terraform validate" \
      init_and_validate "$COPY/environments/$environment" -plugin-dir="$PLUGIN_DIR"
  done
  zips="$ROOT/dist"
  if ! [ -f "$zips/ingest.zip" ] || ! [ -f "$zips/settle.zip" ] || ! [ -f "$zips/capture.zip" ]; then
    zips="$WORK/placeholder-zips"  # the plan only hashes them
    mkdir -p "$zips" && touch "$zips/ingest.zip" "$zips/settle.zip" "$zips/capture.zip"
  fi
  check "modules/flight-controller: terraform test (plan against a mocked aws provider)" \
    in_dir "$COPY/modules/flight-controller" terraform test -no-color -var="lambda_zip_dir=$zips"

  printf '==> %s\n' "environments on moto: ${FC_TERRAFORM_APPLY-dev} applied, re-planned, destroyed; ${FC_TERRAFORM_PLAN-prod} planned (since the start)"
  cat "$WORK/emulated.note"
  if wait "$emulated_pid"; then
    sed 's/^/    /' "$WORK/emulated.log"
    passed=$((passed + 1))
    printf '    ok\n'
  else
    sed 's/^/    /' "$WORK/emulated.log"
    failed=$((failed + 1))
    printf '    FAILED: environments on moto\n'
  fi
  emulated_pid=""
else
  skip "modules/flight-controller and environments: terraform validate, mocked plan, apply on moto" \
    "no hashicorp/aws provider in $PLUGIN_DIR (set TF_PLUGIN_DIR); the HCL tests and checkov above cover them"
fi

summary="terraform: $passed passed, $failed failed"
[ "$skipped" -eq 0 ] || summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
