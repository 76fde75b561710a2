"""Static checks of the AWS resource module (modules/flight-controller).

No AWS provider can be downloaded here, so `terraform validate` cannot run on
it. These tests read its HCL and follow each for_each to the catalog module's
outputs, computed from the real catalog by applying the provider-less catalog
module offline."""

import re
import unittest

import yaml

from flight_terraform import (
    DEFAULT_CATALOG,
    ENVIRONMENTS,
    RESOURCE_MODULE,
    TERRAFORM_DIR,
    catalog_outputs,
    load_hcl,
    unwrap,
)

# Resources every function (one per event type, plus settle and capture) must have.
PER_FUNCTION_RESOURCE_TYPES = [
    "aws_lambda_function",
    "aws_cloudwatch_log_group",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_cloudwatch_event_rule",
    "aws_cloudwatch_event_target",
    "aws_lambda_permission",
    "aws_lambda_function_event_invoke_config",
    "aws_sqs_queue",
    "aws_sqs_queue_policy",
]

# Actions for which AWS documents no resource-level permissions, so a policy
# statement must say Resource "*" (scoped by a condition where one exists).
ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS = {
    "cloudwatch:PutMetricData": "CloudWatch: no resource types; scoped by the cloudwatch:namespace condition",
    "xray:PutTraceSegments": "X-Ray: no resource types for trace segments",
    "xray:PutTelemetryRecords": "X-Ray: no resource types for telemetry",
}

# In a KMS key policy Resource "*" means the key itself.
KEY_POLICY_DOCUMENTS = {"kms_key"}


def expression(value):
    return re.sub(r"\s+", "", str(unwrap(value)))


def references(value, address):
    """Whether an expression refers to `address[each.key]` (or `address[each.key].attr`)."""
    return f"{address}[each.key]" in expression(value)


def statements(node, path=()):
    """Every policy statement anywhere in parsed HCL: (path, dict with actions and resources)."""
    if isinstance(node, dict):
        if "actions" in node and "resources" in node:
            yield path, node
        for key, value in node.items():
            yield from statements(value, path + (key,))
    elif isinstance(node, list):
        for item in node:
            yield from statements(item, path)


def flat_strings(value):
    value = unwrap(value)
    if isinstance(value, list):
        return [s for item in value for s in flat_strings(item)]
    return [value]


class ResourceModuleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hcl = load_hcl(RESOURCE_MODULE)
        cls.resources = cls.hcl["resource"]
        cls.catalog = yaml.safe_load(DEFAULT_CATALOG.read_text())
        cls.outputs = catalog_outputs(enable_capture=True)
        cls.outputs_without_capture = catalog_outputs(enable_capture=False)

    def resolve_local(self, value):
        """Follows `${local.x}` to the expression that defines local.x."""
        text = expression(value)
        match = re.fullmatch(r"\$\{local\.(\w+)\}", text)
        return expression(self.hcl["locals"][match.group(1)]) if match else text

    def per_function(self, type_name):
        """The one resource of a type that iterates over the catalog's functions."""
        candidates = {
            name: body
            for name, body in self.resources.get(type_name, {}).items()
            if self.resolve_local(body.get("for_each")) == "${module.catalog.functions}"
        }
        self.assertEqual(len(candidates), 1, f"{type_name}: expected one resource with for_each over module.catalog.functions")
        return next(iter(candidates.items()))

    def test_catalog_module_is_the_source_of_functions_and_alarms(self):
        catalog = self.hcl["module"]["catalog"]
        self.assertEqual(unwrap(catalog["source"]), "../catalog")
        self.assertEqual(self.resolve_local("${local.functions}"), "${module.catalog.functions}")
        self.assertEqual(self.resolve_local("${local.alarms}"), "${module.catalog.operational_alarms}")
        self.assertEqual(
            expression(self.resources["aws_cloudwatch_metric_alarm"]["slo_window"]["for_each"]),
            "${module.catalog.slo_window_alarms}",
        )
        self.assertEqual(
            expression(self.resources["aws_cloudwatch_composite_alarm"]["slo"]["for_each"]),
            "${module.catalog.slo_composite_alarms}",
        )

    def test_every_function_resource_iterates_over_the_catalog_functions(self):
        for type_name in PER_FUNCTION_RESOURCE_TYPES:
            with self.subTest(type_name):
                self.per_function(type_name)

    def test_every_event_type_gets_a_function_rule_target_dead_letter_queue_and_log_group(self):
        functions = self.outputs["functions"]
        for event_type in self.catalog["event_types"]:
            name = event_type["name"]
            with self.subTest(name):
                matching = [f for f in functions.values() if f["event_type"] == name]
                self.assertEqual(len(matching), 1, f"{name} must have exactly one ingest function")
                function = matching[0]
                self.assertEqual(function["kind"], "ingest")
                self.assertEqual(function["zip_file"], "ingest.zip")
                self.assertEqual(function["environment"]["EVENT_TYPE"], name)
                self.assertEqual(function["event_pattern"], self.outputs["event_patterns"][name])
                self.assertEqual(function["event_bus"], self.outputs["names"]["event_bus"])
                self.assertTrue(function["rule_name"] and function["dead_letter_queue_name"])
                self.assertEqual(function["log_group_name"], f"/aws/lambda/{function['function_name']}")

    def test_resources_of_a_function_refer_to_each_other_by_the_same_key(self):
        _, function = self.per_function("aws_lambda_function")
        function_address = f"aws_lambda_function.{self.per_function('aws_lambda_function')[0]}"
        rule_address = f"aws_cloudwatch_event_rule.{self.per_function('aws_cloudwatch_event_rule')[0]}"
        queue_address = f"aws_sqs_queue.{self.per_function('aws_sqs_queue')[0]}"
        role_address = f"aws_iam_role.{self.per_function('aws_iam_role')[0]}"
        _, rule = self.per_function("aws_cloudwatch_event_rule")
        _, target = self.per_function("aws_cloudwatch_event_target")
        _, permission = self.per_function("aws_lambda_permission")
        _, invoke_config = self.per_function("aws_lambda_function_event_invoke_config")
        _, log_group = self.per_function("aws_cloudwatch_log_group")
        _, queue = self.per_function("aws_sqs_queue")

        self.assertEqual(expression(function["function_name"]), "${each.value.function_name}")
        self.assertTrue(references(function["role"], role_address))
        self.assertEqual(expression(log_group["name"]), "${each.value.log_group_name}")
        self.assertEqual(expression(queue["name"]), "${each.value.dead_letter_queue_name}")
        self.assertEqual(expression(rule["event_pattern"]), "${each.value.event_pattern}")
        self.assertEqual(expression(rule["schedule_expression"]), "${each.value.schedule_expression}")
        self.assertTrue(references(target["rule"], rule_address))
        self.assertTrue(references(target["arn"], function_address))
        self.assertTrue(references(unwrap(target["dead_letter_config"])["arn"], queue_address))
        retry = unwrap(target["retry_policy"])
        self.assertIn("maximum_event_age_in_seconds", retry)
        self.assertIn("maximum_retry_attempts", retry)
        self.assertTrue(references(permission["function_name"], function_address))
        self.assertTrue(references(permission["source_arn"], rule_address))
        self.assertEqual(unwrap(permission["principal"]), "events.amazonaws.com")
        self.assertTrue(references(invoke_config["function_name"], function_address))
        on_failure = unwrap(unwrap(invoke_config["destination_config"])["on_failure"])
        self.assertTrue(references(on_failure["destination"], queue_address))

    def test_functions_follow_the_build_contract(self):
        _, function = self.per_function("aws_lambda_function")
        self.assertEqual(unwrap(function["runtime"]), "provided.al2023")
        self.assertEqual(flat_strings(function["architectures"]), ["arm64"])
        self.assertEqual(unwrap(function["handler"]), "bootstrap")
        self.assertEqual(expression(function["filename"]), "${local.lambda_zip_dir}/${each.value.zip_file}")
        self.assertEqual(expression(self.hcl["locals"]["lambda_zip_dir"]), '${coalesce(var.lambda_zip_dir,"${path.root}/../../../dist")}')
        zips = {f["kind"]: f["zip_file"] for f in self.outputs["functions"].values()}
        self.assertEqual(zips, {"ingest": "ingest.zip", "settle": "settle.zip", "capture": "capture.zip"})

    def test_settle_runs_every_minute_with_one_instance_by_default(self):
        settle = self.outputs["functions"]["settle"]
        self.assertEqual(settle["schedule_expression"], "rate(1 minute)")
        self.assertEqual(settle["event_bus"], "default")
        settle_size = expression(self.hcl["variable"]["settle_function"]["type"])
        self.assertIn("'reserved_concurrency':'${optional(number,1)}'", settle_size)

    def test_reserved_concurrency_is_passed_through_so_minus_one_leaves_functions_unreserved(self):
        """An explicit null in an optional attribute becomes its default, so
        -1 (Lambda's "unreserved") is the only way to opt out; nothing may
        force a value over the variable's."""
        _, function = self.per_function("aws_lambda_function")
        self.assertEqual(
            expression(function["reserved_concurrent_executions"]),
            "${local.function_sizes[each.value.kind].reserved_concurrency}",
        )
        sizes = unwrap(self.hcl["locals"]["function_sizes"])
        for kind in ("ingest", "settle", "capture"):
            self.assertEqual(expression(sizes[kind]), f"${{var.{kind}_function}}")
            validations = self.hcl["variable"][f"{kind}_function"]["validation"]
            self.assertIn(f"var.{kind}_function.reserved_concurrency==-1", expression(validations))

    def test_capture_exists_only_when_enabled(self):
        self.assertIn("capture", self.outputs["functions"])
        self.assertNotIn("capture", self.outputs_without_capture["functions"])
        self.assertEqual(
            self.outputs["functions"]["capture"]["event_pattern"],
            '{"detail":{"test_run_id":[{"exists":true}]}}',
        )
        capture_table = self.resources["aws_dynamodb_table"]["capture"]
        self.assertEqual(expression(capture_table["count"]), "${var.enable_capture?1:0}")
        self.assertEqual(unwrap(unwrap(capture_table["ttl"])["attribute_name"]), "expires_at")

    def test_every_event_type_function_and_slo_has_its_alarms(self):
        alarms = self.resources["aws_cloudwatch_metric_alarm"]
        self.assertEqual(set(alarms), {"this", "slo_window"})
        self.assertEqual(expression(alarms["this"]["for_each"]), "${local.alarms}")
        for actions in ("alarm_actions", "ok_actions"):
            self.assertIn("aws_sns_topic.alerts[each.value.severity].arn", expression(alarms["this"][actions]))
            # The burn-rate alarms notify no one; their composite alarms do.
            self.assertNotIn(actions, alarms["slo_window"])
            self.assertIn(
                "aws_sns_topic.alerts[each.value.severity].arn",
                expression(self.resources["aws_cloudwatch_composite_alarm"]["slo"][actions]),
            )

        names = set(self.outputs["operational_alarms"])
        for key, function in self.outputs["functions"].items():
            for suffix in ("errors", "throttles", "dead-letters"):
                self.assertIn(f"{key}-{suffix}", names)
            dead_letters = self.outputs["operational_alarms"][f"{key}-dead-letters"]
            self.assertEqual(dead_letters["dimensions"], {"QueueName": function["dead_letter_queue_name"]})
        for name, event_type in self.outputs["event_types"].items():
            for prefix, metric in (("late-events", "LateEvents"), ("rejected-events", "RejectedEvents")):
                alarm = self.outputs["operational_alarms"][f"{prefix}-{event_type['slug']}"]
                self.assertEqual(alarm["metric_name"], metric)
                self.assertEqual(alarm["namespace"], self.catalog["namespace"])
                self.assertEqual(alarm["dimensions"]["EventType"], name)
        window_alarms, composites = self.outputs["slo_window_alarms"], self.outputs["slo_composite_alarms"]
        for slo in self.catalog["slos"]:
            with self.subTest(slo["name"]):
                mine = [a for a in window_alarms.values() if a["slo"] == slo["name"]]
                self.assertTrue(mine, "every SLO has burn-rate alarms")
                self.assertTrue(all(a["metric_name"] == slo["metric"] for a in mine))
                paged = [c for c in composites.values() if c["slo"] == slo["name"]]
                self.assertTrue(paged, "every SLO has a composite alarm")
                for composite in paged:
                    for pair in composite["pairs"]:
                        self.assertLessEqual(set(pair), set(window_alarms), "a composite names only burn-rate alarms that exist")
        severities = {c["severity"] for c in composites.values()} | {
            a["severity"] for a in self.outputs["operational_alarms"].values()
        }
        self.assertLessEqual(severities, set(self.outputs["names"]["alert_topics"]))

    def test_dashboard_comes_from_the_catalog(self):
        dashboard = next(iter(self.resources["aws_cloudwatch_dashboard"].values()))
        self.assertEqual(expression(dashboard["dashboard_body"]), "${module.catalog.dashboard_body}")

    def test_event_store_table_matches_the_adapter(self):
        table = self.resources["aws_dynamodb_table"]["events"]
        self.assertEqual(unwrap(table["billing_mode"]), "PAY_PER_REQUEST")
        self.assertEqual((unwrap(table["hash_key"]), unwrap(table["range_key"])), ("pk", "sk"))
        attributes = {unwrap(a["name"]): unwrap(a["type"]) for a in table["attribute"]}
        self.assertEqual(
            attributes, {"pk": "S", "sk": "S", "tl": "S", "due_shard": "S", "due_at": "N", "m_metric": "S", "m_ts": "N"}
        )
        lsi = unwrap(table["local_secondary_index"])
        self.assertEqual(
            (unwrap(lsi["name"]), unwrap(lsi["range_key"]), unwrap(lsi["projection_type"])), ("timeline", "tl", "INCLUDE")
        )
        self.assertEqual(flat_strings(lsi["non_key_attributes"]), ["event_type", "time", "event_id", "sealed_at"])
        gsis = {
            unwrap(g["name"]): (unwrap(g["hash_key"]), unwrap(g["range_key"]), unwrap(g["projection_type"]))
            for g in table["global_secondary_index"]
        }
        self.assertEqual(gsis, {"due": ("due_shard", "due_at", "ALL"), "by-metric": ("m_metric", "m_ts", "ALL")})
        self.assertIs(unwrap(unwrap(table["point_in_time_recovery"])["enabled"]), True)
        sse = unwrap(table["server_side_encryption"])
        self.assertEqual(expression(sse["kms_key_arn"]), "${aws_kms_key.this.arn}")
        self.assertEqual(expression(table["deletion_protection_enabled"]), "${var.deletion_protection}")


class IamPolicyTest(unittest.TestCase):
    """No policy grants Resource "*" unless AWS offers nothing narrower."""

    @classmethod
    def setUpClass(cls):
        cls.modules = {
            path.name: load_hcl(path) for path in sorted((TERRAFORM_DIR / "modules").iterdir()) if path.is_dir()
        }
        cls.modules.update({f"environments/{p.name}": load_hcl(p) for p in sorted(ENVIRONMENTS.iterdir()) if p.is_dir()})

    def all_statements(self):
        for module, hcl in self.modules.items():
            for kind in ("resource", "data", "locals"):
                for path, statement in statements(hcl[kind]):
                    yield module, (kind,) + path, statement

    def test_policies_come_from_policy_documents(self):
        """Inline JSON policies would escape these checks."""
        for module, hcl in self.modules.items():
            for type_name, named in hcl["resource"].items():
                for name, body in named.items():
                    for attribute in ("policy", "assume_role_policy"):
                        if attribute in body:
                            with self.subTest(f"{module}: {type_name}.{name}.{attribute}"):
                                self.assertRegex(expression(body[attribute]), r"^\$\{data\.aws_iam_policy_document\.\w+(\[each\.key\])?\.json\}$")

    def test_key_policies_are_only_used_as_key_policies(self):
        for module, hcl in self.modules.items():
            for document in KEY_POLICY_DOCUMENTS & set(hcl["data"].get("aws_iam_policy_document", {})):
                users = [
                    f"{type_name}.{name}"
                    for type_name, named in hcl["resource"].items()
                    for name, body in named.items()
                    if f"data.aws_iam_policy_document.{document}." in expression(body.get("policy", ""))
                ]
                self.assertEqual(users, ["aws_kms_key.this"], f"{module}: {document} must only be a key policy")

    def test_wildcard_resources_only_for_actions_without_resource_level_permissions(self):
        checked = 0
        for module, path, statement in self.all_statements():
            if path[:2] == ("data", "aws_iam_policy_document") and path[2] in KEY_POLICY_DOCUMENTS:
                continue
            checked += 1
            resources = flat_strings(statement["resources"])
            actions = flat_strings(statement["actions"])
            with self.subTest(f"{module}: {'.'.join(path)} {actions}"):
                self.assertFalse([a for a in actions if a == "*" or a.endswith(":*")], "wildcard action")
                if "*" in resources:
                    self.assertEqual(resources, ["*"])
                    disallowed = [a for a in actions if a not in ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS]
                    self.assertEqual(disallowed, [], 'these actions support narrower resources than "*"')
        self.assertGreater(checked, 5, "found too few policy statements: has the module layout changed?")

    def test_eventbridge_uses_the_key_only_for_this_accounts_rules_of_this_environment(self):
        key_policy = unwrap(self.modules["flight-controller"]["data"]["aws_iam_policy_document"]["kms_key"])
        service_statements = [
            unwrap(st) for st in key_policy["statement"] if unwrap(unwrap(unwrap(st)["principals"])["type"]) == "Service"
        ]
        self.assertGreaterEqual(len(service_statements), 3)
        events = next(st for st in service_statements if "events.amazonaws.com" in expression(unwrap(st["principals"])["identifiers"]))
        conditions = {unwrap(c["variable"]): flat_strings(c["values"]) for c in map(unwrap, events["condition"])}
        self.assertEqual(conditions["aws:SourceAccount"], ["${local.account_id}"])
        conditions["aws:SourceArn"] = " ".join(conditions["aws:SourceArn"])
        self.assertIn(":rule/${local.names.event_bus}/*", conditions["aws:SourceArn"])
        self.assertIn(":rule/${var.name_prefix}-${var.environment}-*", conditions["aws:SourceArn"])

    def test_function_roles_get_only_the_key_actions_they_use(self):
        function_policy = unwrap(self.modules["flight-controller"]["data"]["aws_iam_policy_document"]["function"])
        key_statements = [unwrap(st) for st in function_policy["statement"] if unwrap(unwrap(st)["sid"]) == "UseTheEnvironmentKey"]
        self.assertEqual(len(key_statements), 1)
        self.assertEqual(sorted(flat_strings(key_statements[0]["actions"])), ["kms:Decrypt", "kms:GenerateDataKey"])

    def test_put_metric_data_is_limited_to_the_catalog_namespace(self):
        found = False
        for module, path, statement in self.all_statements():
            if "cloudwatch:PutMetricData" in flat_strings(statement["actions"]):
                found = True
                conditions = unwrap(statement.get("conditions", statement.get("condition")))
                conditions = conditions if isinstance(conditions, list) else [conditions]
                self.assertIn(
                    ("StringEquals", "cloudwatch:namespace", "${module.catalog.namespace}"),
                    [(unwrap(c["test"]), unwrap(c["variable"]), expression(c["values"]).strip("[]")) for c in conditions],
                )
        self.assertTrue(found)


class EnvironmentsTest(unittest.TestCase):
    def module_call(self, environment):
        hcl = load_hcl(ENVIRONMENTS / environment)
        call = hcl["module"]["flight_controller"]
        self.assertEqual(unwrap(call["source"]), "../../modules/flight-controller")
        return call, (ENVIRONMENTS / environment / "terraform.tfvars").read_text()

    def test_dev_captures_test_events_and_prod_protects_its_data(self):
        dev_call, dev_vars = self.module_call("dev")
        prod_call, prod_vars = self.module_call("prod")
        self.assertEqual(unwrap(dev_call["environment"]), "dev")
        self.assertEqual(unwrap(prod_call["environment"]), "prod")
        self.assertRegex(dev_vars, r"(?m)^enable_capture\s*=\s*true")
        self.assertRegex(prod_vars, r"(?m)^enable_capture\s*=\s*false")
        self.assertRegex(prod_vars, r"(?m)^deletion_protection\s*=\s*true")

    def test_every_root_has_a_backend_example_with_locking(self):
        for environment in ("dev", "prod"):
            example = (ENVIRONMENTS / environment / "backend.hcl.example").read_text()
            self.assertRegex(example, r"(?m)^use_lockfile\s*=\s*true")
            self.assertIn(f"flight-controller/{environment}/", example)


if __name__ == "__main__":
    unittest.main()
