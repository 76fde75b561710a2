"""Helpers for the Terraform tests: parse the modules' HCL, and compute the
catalog module's outputs by applying it offline (it uses no provider)."""

import functools
import json
import os
import subprocess
import tempfile
from pathlib import Path

import hcl2

TERRAFORM_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = TERRAFORM_DIR.parent
CATALOG_MODULE = TERRAFORM_DIR / "modules" / "catalog"
RESOURCE_MODULE = TERRAFORM_DIR / "modules" / "flight-controller"
ENVIRONMENTS = TERRAFORM_DIR / "environments"
DEFAULT_CATALOG = REPO_ROOT / "events" / "catalog.yaml"


def load_hcl(directory):
    """Every block of every .tf file in a directory, merged: {"resource": {type: {name: body}}, ...}."""
    merged = {"resource": {}, "data": {}, "module": {}, "locals": {}, "variable": {}, "output": {}}
    for path in sorted(Path(directory).glob("*.tf")):
        with open(path) as f:
            parsed = hcl2.load(f)
        for kind in ("resource", "data"):
            for block in parsed.get(kind, []):
                for type_name, named in block.items():
                    merged[kind].setdefault(type_name, {}).update(named)
        for kind in ("module", "variable", "output"):
            for block in parsed.get(kind, []):
                merged[kind].update(block)
        for block in parsed.get("locals", []):
            merged["locals"].update(block)
    return merged


def unwrap(value):
    """python-hcl2 wraps attribute values in one-element lists."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def terraform_env():
    env = dict(os.environ, TF_IN_AUTOMATION="1")
    cli_config = env.get("TF_CLI_CONFIG_FILE")
    if cli_config and not Path(cli_config).exists():
        env["TF_CLI_CONFIG_FILE"] = os.devnull
    return env


@functools.lru_cache(maxsize=None)
def catalog_outputs(catalog_path=str(DEFAULT_CATALOG), environment="test", enable_capture=True, region="us-east-1"):
    """The catalog module's outputs (as `terraform output -json` gives them) for a catalog."""
    with tempfile.TemporaryDirectory(prefix="flight-controller-catalog-") as root:
        config = {
            "module": {
                "catalog": {
                    "source": str(CATALOG_MODULE),
                    "catalog_path": str(Path(catalog_path).resolve()),
                    "environment": environment,
                    "region": region,
                    "enable_capture": enable_capture,
                }
            },
            "output": {"catalog": {"value": "${module.catalog}"}},
        }
        Path(root, "main.tf.json").write_text(json.dumps(config))
        env = dict(terraform_env(), TF_DATA_DIR=str(Path(root, ".terraform")))
        for command in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
            run = subprocess.run(["terraform", *command], cwd=root, env=env, capture_output=True, text=True)
            if run.returncode != 0:
                raise RuntimeError(f"terraform {command[0]} failed:\n{run.stdout}\n{run.stderr}")
        run = subprocess.run(
            ["terraform", "output", "-json", "catalog"], cwd=root, env=env, capture_output=True, text=True, check=True
        )
        return json.loads(run.stdout)
