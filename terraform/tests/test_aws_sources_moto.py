"""AWS sources (docs/aws-sources.md) on moto server: the event patterns the
catalog module generates, checked with EventBridge's TestEventPattern against
the AWS documentation's example events (events/aws/) and near misses of them;
and modules/member-account applied, planned again (no changes) and destroyed."""

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from apply_on_emulators import override
from flight_terraform import REPO_ROOT, TERRAFORM_DIR, catalog_outputs, terraform_env
from moto_service import CREDENTIALS, moto_server

EXAMPLES = REPO_ROOT / "events" / "aws"
PLUGIN_DIR = Path(os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins"))
CENTRAL_BUS = "arn:aws:events:us-east-1:111122223333:event-bus/flight-controller-test"


def examples(name):
    return json.loads((EXAMPLES / name).read_text())


def changed(event, path, value):
    """A copy of the event with the field at `path` (keys) set to `value`."""
    copy = json.loads(json.dumps(event))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


class MotoTestCase(unittest.TestCase):
    """A moto server for the class: the one scripts/services.sh started
    (FC_AWS_ENDPOINT, or MOTO_ENDPOINT), else a fresh one (scripts/moto_server.py)."""

    @classmethod
    def setUpClass(cls):
        try:
            import boto3
        except ImportError:
            raise unittest.SkipTest("boto3 is not installed (run scripts/setup.sh)")
        cls.stack = contextlib.ExitStack()
        cls.endpoint = (
            os.environ.get("FC_AWS_ENDPOINT") or os.environ.get("MOTO_ENDPOINT") or cls.stack.enter_context(moto_server())
        )
        options = dict(endpoint_url=cls.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        cls.events = boto3.client("events", **options)
        cls.iam = boto3.client("iam", **options)

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()


class AwsSourcePatternsTest(MotoTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        outputs = catalog_outputs(enable_capture=True)
        cls.function_patterns = outputs["event_patterns"]
        cls.forward_pattern = outputs["aws_sources"]["forward_pattern"]

    def matches(self, pattern, event):
        return self.events.test_event_pattern(EventPattern=pattern, Event=json.dumps(event))["Result"]

    def reached(self, event):
        """The event types whose function rule matches the event."""
        return {name for name, pattern in self.function_patterns.items() if self.matches(pattern, event)}

    def test_each_documented_event_is_forwarded_and_reaches_the_functions_of_its_event_types(self):
        config = examples("config-compliance-change.json")
        control_tower = examples("control-tower-create-managed-account.json")
        ssm = examples("ssm-patch-compliance.json")
        expected = [
            (config[0], {"ResourceFoundNonCompliant"}),
            (config[1], {"ResourceFoundCompliant"}),
            (control_tower[0], {"AccountRequested", "AccountCreated"}),
            (ssm[0], {"PatchRunSummary"}),
            (ssm[1], {"PatchRunSummary"}),
        ]
        for event, types in expected:
            with self.subTest(event=event["detail-type"], types=types):
                self.assertTrue(self.matches(self.forward_pattern, event), "the default-bus rule forwards it")
                self.assertEqual(self.reached(event), types)

    def test_near_misses_reach_no_function(self):
        config = examples("config-compliance-change.json")[1]
        control_tower = examples("control-tower-create-managed-account.json")[0]
        ssm = examples("ssm-patch-compliance.json")[0]
        status = ["detail", "serviceEventDetails", "createManagedAccountStatus"]
        near_misses = {
            # Forwarded (its source and detail-type are a source's), but no event type takes it.
            "Config NOT_APPLICABLE": (changed(config, ["detail", "newEvaluationResult", "complianceType"], "NOT_APPLICABLE"), True),
            "Config item change": (changed(config, ["detail-type"], "Config Configuration Item Change"), False),
            "Config from another service": (changed(config, ["source"], "aws.securityhub"), False),
            "account creation FAILED": (changed(control_tower, status + ["state"], "FAILED"), False),
            "UpdateManagedAccount": (changed(control_tower, ["detail", "eventName"], "UpdateManagedAccount"), False),
            "association compliance": (changed(ssm, ["detail", "compliance-type"], "Association"), False),
            "patch compliance of an unknown status": (changed(ssm, ["detail", "compliance-status"], "unknown"), True),
        }
        for name, (event, forwarded) in near_misses.items():
            with self.subTest(name):
                self.assertEqual(self.reached(event), set())
                self.assertEqual(self.matches(self.forward_pattern, event), forwarded)


@unittest.skipUnless(shutil.which("terraform"), "terraform is not installed")
@unittest.skipUnless((PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws").is_dir(), f"no hashicorp/aws provider in {PLUGIN_DIR}")
class MemberAccountOnMotoTest(MotoTestCase):
    def terraform(self, root, *args, ok_codes=(0,)):
        env = dict(terraform_env(), TF_IN_AUTOMATION="1", TF_INPUT="0", TF_DATA_DIR=str(root / ".terraform"), **CREDENTIALS)
        run = subprocess.run(["terraform", *args, "-no-color"], cwd=root, env=env, capture_output=True, text=True)
        self.assertIn(run.returncode, ok_codes, f"terraform {' '.join(args)}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        return run.returncode

    def test_the_member_account_module_applies_replans_without_changes_and_destroys(self):
        with tempfile.TemporaryDirectory(prefix="flight-controller-member-") as work:
            work = Path(work)
            shutil.copytree(TERRAFORM_DIR / "modules", work / "terraform" / "modules")
            shutil.copytree(REPO_ROOT / "events", work / "events")
            root = work / "root"
            root.mkdir()
            (root / "main.tf").write_text(
                'provider "aws" {\n  region = "us-east-1"\n}\n'
                'module "member" {\n'
                '  source                = "../terraform/modules/member-account"\n'
                f'  central_event_bus_arn = "{CENTRAL_BUS}"\n'
                '  environment           = "test"\n'
                "}\n"
                'output "rule_name" { value = module.member.rule_name }\n'
            )
            (root / "emulator_override.tf").write_text(override(self.endpoint))
            self.terraform(root, "init", f"-plugin-dir={PLUGIN_DIR}")
            self.terraform(root, "apply", "-auto-approve")
            self.assertEqual(self.terraform(root, "plan", "-detailed-exitcode", ok_codes=(0, 2)), 0, "a plan after apply changes nothing")

            rule = self.events.describe_rule(Name="flight-controller-test-aws-sources", EventBusName="default")
            self.assertEqual(json.loads(rule["EventPattern"]), json.loads(catalog_outputs(environment="test")["aws_sources"]["forward_pattern"]))
            [target] = self.events.list_targets_by_rule(Rule=rule["Name"], EventBusName="default")["Targets"]
            self.assertEqual(target["Arn"], CENTRAL_BUS)
            role = target["RoleArn"].rsplit("/", 1)[1]
            [policy_name] = self.iam.list_role_policies(RoleName=role)["PolicyNames"]
            document = self.iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
            document = json.loads(document) if isinstance(document, str) else document
            self.assertEqual(
                [(s["Action"], s["Resource"]) for s in document["Statement"]],
                [("events:PutEvents", CENTRAL_BUS)],
                "the role may put events on the central bus and do nothing else",
            )

            self.terraform(root, "destroy", "-auto-approve")
            state = subprocess.run(["terraform", "state", "list"], cwd=root, env=dict(terraform_env(), TF_DATA_DIR=str(root / ".terraform")), capture_output=True, text=True)
            self.assertEqual([line for line in state.stdout.splitlines() if not line.startswith(("data.", "module.member.data."))], [])


if __name__ == "__main__":
    unittest.main()
