"""`scripts/deploy.sh dev --plan-only` as a user runs it, on a copy of the
repository, against moto: the S3 state backend in a moto bucket, the provider
sent to moto by AWS_ENDPOINT_URL, the provider from the local mirror. It
prints the whole plan and applies nothing."""

import os
import shutil
import subprocess
import tempfile
import unittest
import zipfile
from pathlib import Path

from flight_terraform import REPO_ROOT
from moto_service import CREDENTIALS, moto_server

PLUGIN_DIR = Path(os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins"))

try:
    import boto3
except ImportError:  # pragma: no cover - the venv of scripts/setup.sh has it
    boto3 = None


@unittest.skipIf(boto3 is None, "boto3 is not installed (run scripts/setup.sh)")
@unittest.skipUnless((PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws").is_dir(), f"no hashicorp/aws provider in {PLUGIN_DIR}")
class DeployPlanOnlyTest(unittest.TestCase):
    def test_plan_only_prints_the_plan_and_applies_nothing(self):
        with tempfile.TemporaryDirectory(prefix="flight-controller-deploy-") as work, moto_server() as endpoint:
            work = Path(work)
            copy = work / "repo"
            for directory in ("scripts", "terraform", "events"):
                shutil.copytree(REPO_ROOT / directory, copy / directory, ignore=shutil.ignore_patterns(".terraform*", "backend.hcl"))
            (copy / "dist").mkdir()
            for name in ("ingest.zip", "settle.zip", "capture.zip"):
                with zipfile.ZipFile(copy / "dist" / name, "w") as z:
                    z.writestr("bootstrap", "#!/bin/sh\n")
            options = dict(endpoint_url=endpoint, region_name="eu-west-1", **{k.lower(): v for k, v in CREDENTIALS.items()})
            boto3.client("s3", **options).create_bucket(Bucket="flight-controller-state", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
            backend = work / "backend.hcl"
            backend.write_text(
                'bucket = "flight-controller-state"\nkey = "flight-controller/dev/terraform.tfstate"\nregion = "eu-west-1"\n'
                "use_lockfile = true\nuse_path_style = true\nskip_credentials_validation = true\n"
                f'skip_requesting_account_id = true\nskip_metadata_api_check = true\nendpoints = {{ s3 = "{endpoint}" }}\n'
            )
            cli_config = work / "terraformrc"
            cli_config.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{PLUGIN_DIR}"\n  }}\n}}\n')
            env = dict(
                os.environ, AWS_ENDPOINT_URL=endpoint, TF_CLI_CONFIG_FILE=str(cli_config), FC_BACKEND_CONFIG=str(backend),
                TF_IN_AUTOMATION="1", NO_COLOR="1", **CREDENTIALS,
            )
            run = subprocess.run(
                ["bash", str(copy / "scripts" / "deploy.sh"), "dev", "--plan-only", "--skip-build"],
                env=env, capture_output=True, text=True, timeout=600,
            )
            output = run.stdout + run.stderr
            self.assertEqual(run.returncode, 0, output[-3000:])
            self.assertRegex(output, r"Plan:\S* 277 to add, 0 to change, 0 to destroy")
            self.assertIn("deploy: plan only: the changes above are NOT applied", output)
            self.assertNotIn("deploy: terraform apply", output)
            functions = boto3.client("lambda", **options).list_functions()["Functions"]
            self.assertEqual(functions, [], "--plan-only must not create anything")


if __name__ == "__main__":
    unittest.main()
