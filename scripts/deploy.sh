#!/usr/bin/env bash
# Deploys Flight Controller to one environment: builds the Lambda zips, then
# terraform init / plan / apply in terraform/environments/ENV.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENVIRONMENTS="$ROOT/terraform/environments"

usage() {
  cat <<EOF
Usage: scripts/deploy.sh ENV [--plan-only] [--yes] [--skip-build]

Builds the Lambda zips (scripts/build.sh, into dist/), then runs terraform
init, plan and apply in terraform/environments/ENV. The plan is shown and
applied only after you confirm it (or with --yes).

  ENV            one of: $(ls "$ENVIRONMENTS" 2>/dev/null | tr '\n' ' ')
  --plan-only    print the plan and stop: nothing is applied (exit 0 whether
                 or not it has changes, 1 if planning fails)
  --yes          apply the plan without asking (for CI)
  --skip-build   use the zips already in dist/

Needs AWS credentials for the target account (any method the AWS CLI and
Terraform accept, e.g. AWS_PROFILE) and the state backend file
terraform/environments/ENV/backend.hcl (copy backend.hcl.example beside it),
or FC_BACKEND_CONFIG=PATH pointing at one.
EOF
}

fail() {
  echo "deploy: $*" >&2
  exit 1
}

environment="" plan_only=false yes=false build=true
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --plan-only) plan_only=true ;;
    --yes) yes=true ;;
    --skip-build) build=false ;;
    -*) usage >&2; fail "unknown option: $1" ;;
    *)
      [ -z "$environment" ] || { usage >&2; fail "one environment at a time (got '$environment' and '$1')"; }
      environment="$1"
      ;;
  esac
  shift
done
[ -n "$environment" ] || { usage >&2; exit 2; }

dir="$ENVIRONMENTS/$environment"
[ -f "$dir/main.tf" ] || fail "no environment '$environment': expected $dir/main.tf (environments: $(ls "$ENVIRONMENTS" | tr '\n' ' '))"
command -v terraform >/dev/null || fail "terraform is not installed (1.10 or later)"

backend="${FC_BACKEND_CONFIG:-$dir/backend.hcl}"
[ -f "$backend" ] || fail "no state backend configuration at $backend.
  Create it from the example and set your state bucket and Region:
    cp $dir/backend.hcl.example $dir/backend.hcl"

if $build; then
  [ -f "$ROOT/scripts/build.sh" ] || fail "scripts/build.sh is missing; it builds the Lambda zips"
  echo "deploy: building the Lambda zips (scripts/build.sh)"
  bash "$ROOT/scripts/build.sh"
fi
for zip in ingest settle; do
  [ -f "$ROOT/dist/$zip.zip" ] || fail "dist/$zip.zip is missing: run scripts/build.sh (or drop --skip-build)"
done

plan="$dir/.terraform/deploy.tfplan"
echo "deploy: terraform init ($environment)"
terraform -chdir="$dir" init -input=false -backend-config="$backend"
echo "deploy: terraform plan ($environment)"
# -detailed-exitcode: 0 no changes, 1 error, 2 changes.
status=0
terraform -chdir="$dir" plan -input=false -detailed-exitcode -out="$plan" || status=$?
case "$status" in
  0) changes=false ;;
  2) changes=true ;;
  *) fail "terraform plan failed (exit $status)" ;;
esac

if $plan_only; then
  if $changes; then
    echo "deploy: plan only: the changes above are NOT applied (saved plan: $plan)"
  else
    echo "deploy: plan only: no changes; nothing to apply"
  fi
  exit 0
fi
if ! $changes; then
  echo "deploy: no changes; nothing to apply"
  terraform -chdir="$dir" output
  exit 0
fi
if ! $yes; then
  [ -t 0 ] || fail "not a terminal, so the plan cannot be confirmed: re-run with --yes to apply it"
  read -r -p "Apply this plan to '$environment'? [y/N] " answer
  case "$answer" in
    y | Y | yes | YES) ;;
    *) echo "deploy: not applied"; exit 1 ;;
  esac
fi
echo "deploy: terraform apply ($environment)"
terraform -chdir="$dir" apply -input=false "$plan"
terraform -chdir="$dir" output
