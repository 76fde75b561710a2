"""The local stack's provisioner (`flight-local provision`, what scripts/local.sh
runs) against a Terraform apply of the same environment: both on one moto
server, Terraform's in the root's Region and the provisioner's in another,
read back through the AWS API and compared.

What must be equal: the bus; each rule's name, bus and event pattern; each
target's id, the name of what it invokes and its dead-letter queue; the
dead-letter queues; the tables' keys and indexes; the SLO burn-rate alarms
(metric math, every field) and composite alarms (rule and description); the
dashboard; and the environment each function runs with. What differs by
design (README, "The local stack, and why a dispatcher") is checked to be
exactly that: rules target an SQS queue named as the function instead of the
function (a redrive policy to the same dead-letter queue standing in for
Lambda's retries and on-failure destination), the settle schedule, the
operational alarms (on Lambda and SQS metrics) and the composite alarms'
actions (the SNS topics) exist only in AWS.
"""

import json
import os
import subprocess
import tempfile
from pathlib import Path

import boto3
import hcl2

from flight_terraform import catalog_outputs
from moto_service import CREDENTIALS

LOCAL_REGION = "us-west-2"
ALARM_FIELDS = [
    "AlarmName", "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "ExtendedStatistic",
    "ComparisonOperator", "Threshold", "Period", "EvaluationPeriods", "DatapointsToAlarm", "TreatMissingData",
    "Metrics", "ActionsEnabled", "AlarmActions", "OKActions",
]
# The composite alarms' actions notify the SNS topics, which exist only in AWS.
COMPOSITE_ALARM_FIELDS = ["AlarmName", "AlarmDescription", "AlarmRule", "ActionsEnabled"]


class Account:
    """Read access to one Region of the emulated account."""

    def __init__(self, endpoint, region):
        options = dict(endpoint_url=endpoint, region_name=region, **{k.lower(): v for k, v in CREDENTIALS.items()})
        self.region = region
        self.events = boto3.client("events", **options)
        self.sqs = boto3.client("sqs", **options)
        self.dynamodb = boto3.client("dynamodb", **options)
        self.cloudwatch = boto3.client("cloudwatch", **options)
        self.awslambda = boto3.client("lambda", **options)

    def rules(self):
        """{(bus, rule name): {pattern, schedule, targets}} for every bus but the emulator's own."""
        found = {}
        for bus in [b["Name"] for b in self.events.list_event_buses()["EventBuses"]]:
            for rule in self.events.list_rules(EventBusName=bus)["Rules"]:
                targets = self.events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
                found[(bus, rule["Name"])] = {
                    "pattern": json.loads(rule["EventPattern"]) if rule.get("EventPattern") else None,
                    "schedule": rule.get("ScheduleExpression"),
                    "targets": {
                        t["Id"]: {
                            "service": t["Arn"].split(":")[2],
                            "name": arn_name(t["Arn"]),
                            "dead_letter_queue": arn_name(t.get("DeadLetterConfig", {}).get("Arn", "")),
                        }
                        for t in targets
                    },
                }
        return found

    def queues(self):
        """{queue name: redrive policy (dead-letter queue name, receive count) or None}."""
        found = {}
        for url in self.sqs.list_queues().get("QueueUrls", []):
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            redrive = json.loads(attributes["RedrivePolicy"]) if "RedrivePolicy" in attributes else None
            found[url.rsplit("/", 1)[1]] = redrive and (arn_name(redrive["deadLetterTargetArn"]), int(redrive["maxReceiveCount"]))
        return found

    def tables(self):
        """{table name: keys, attribute types and indexes}."""
        found = {}
        for name in self.dynamodb.list_tables()["TableNames"]:
            t = self.dynamodb.describe_table(TableName=name)["Table"]
            index = lambda i: (i["IndexName"], keys(i["KeySchema"]), i["Projection"]["ProjectionType"], sorted(i["Projection"].get("NonKeyAttributes", [])))
            found[name] = {
                "keys": keys(t["KeySchema"]),
                "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in t["AttributeDefinitions"]),
                "local_indexes": sorted(index(i) for i in t.get("LocalSecondaryIndexes", [])),
                "global_indexes": sorted(index(i) for i in t.get("GlobalSecondaryIndexes", [])),
            }
        return found

    def alarms(self):
        alarms = self.cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm"])["MetricAlarms"]
        return {a["AlarmName"]: {f: normalise(a.get(f)) for f in ALARM_FIELDS} for a in alarms}

    def composite_alarms(self):
        alarms = self.cloudwatch.describe_alarms(AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
        return {a["AlarmName"]: {f: a.get(f) for f in COMPOSITE_ALARM_FIELDS} for a in alarms}

    def dashboards(self):
        names = [d["DashboardName"] for d in self.cloudwatch.list_dashboards()["DashboardEntries"]]
        return {n: json.loads(self.cloudwatch.get_dashboard(DashboardName=n)["DashboardBody"]) for n in names}


def arn_name(arn):
    return arn.replace("/", ":").rsplit(":", 1)[-1] if arn else None


def keys(schema):
    return sorted((k["KeyType"], k["AttributeName"]) for k in schema)


def normalise(value):
    """Dimensions as sorted pairs, metric queries sorted by id, lists sorted."""
    if isinstance(value, list) and value and isinstance(value[0], dict) and "Name" in value[0]:
        return sorted((d["Name"], d["Value"]) for d in value)
    if isinstance(value, list) and value and isinstance(value[0], dict) and "Id" in value[0]:
        return sorted((json.dumps(query_normalised(q), sort_keys=True) for q in value))
    if isinstance(value, list):
        return sorted(value)
    return value


def query_normalised(query):
    stat = query.get("MetricStat")
    if stat:
        stat = dict(stat, Metric=dict(stat["Metric"], Dimensions=normalise(stat["Metric"].get("Dimensions", []))))
    return dict(query, MetricStat=stat)


def root_settings(root_dir):
    with open(root_dir / "terraform.tfvars") as f:
        tfvars = hcl2.load(f)
    value = lambda v: v[0] if isinstance(v, list) and len(v) == 1 else v
    return value(tfvars["region"]), bool(value(tfvars.get("enable_capture", False)))


def provision_locally(flight_local, endpoint, outputs, work):
    """Runs `flight-local provision` as scripts/local.sh does, with every service on moto in LOCAL_REGION."""
    (work / "outputs.json").write_text(json.dumps(outputs))
    env = dict(os.environ, FC_AWS_ENDPOINT=endpoint, FC_DYNAMODB_ENDPOINT=endpoint, AWS_REGION=LOCAL_REGION, AWS_DEFAULT_REGION=LOCAL_REGION, **CREDENTIALS)
    run = subprocess.run(
        [flight_local, "provision", "--outputs", str(work / "outputs.json"), "--stack", str(work / "stack.json")],
        env=env, capture_output=True, text=True,
    )
    if run.returncode != 0:
        raise RuntimeError(f"flight-local provision failed:\n{run.stderr}")
    return json.loads((work / "stack.json").read_text()), run.stderr


def differences(endpoint, environment, region, enable_capture, flight_local):
    """Every way the provisioned local stack differs from the applied one beyond the designed differences."""
    outputs = catalog_outputs(environment=environment, enable_capture=enable_capture, region=region)
    with tempfile.TemporaryDirectory(prefix="flight-local-parity-") as work:
        stack, _ = provision_locally(flight_local, endpoint, outputs, Path(work))
    applied, local = Account(endpoint, region), Account(endpoint, LOCAL_REGION)
    functions = outputs["functions"]
    problems = []

    def expect(what, got, want):
        if got != want:
            problems.append(f"{what}: local {got!r}, applied {want!r}")

    # Rules: the same on the custom bus; the settle schedule only in AWS.
    applied_rules, local_rules = applied.rules(), local.rules()
    schedules = {key for key, rule in applied_rules.items() if rule["schedule"]}
    if schedules != {("default", functions["settle"]["rule_name"])}:
        problems.append(f"scheduled rules of the apply: {sorted(schedules)}; expected settle's alone (the dispatcher runs settle locally)")
    for key in sorted(set(applied_rules) - schedules | set(local_rules)):
        a, l = applied_rules.get(key), local_rules.get(key)
        if a is None or l is None:
            problems.append(f"rule {key} exists only {'locally' if a is None else 'in the apply'}")
            continue
        expect(f"rule {key} pattern", l["pattern"], a["pattern"])
        expect(f"rule {key} target ids", sorted(l["targets"]), sorted(a["targets"]))
        for target_id in set(a["targets"]) & set(l["targets"]):
            lt, at = l["targets"][target_id], a["targets"][target_id]
            expect(f"rule {key} target service", (lt["service"], at["service"]), ("sqs", "lambda"))
            expect(f"rule {key} target name", lt["name"], at["name"])
            expect(f"rule {key} dead-letter queue", lt["dead_letter_queue"], at["dead_letter_queue"])

    # Queues: every local trigger queue redrives to its function's dead-letter queue,
    # which Lambda's on-failure destination uses in AWS.
    applied_queues, local_queues = applied.queues(), local.queues()
    for key, f in functions.items():
        if f.get("event_pattern") is None:
            continue
        dlq = f["dead_letter_queue_name"]
        expect(f"{key} dead-letter queue exists", dlq in local_queues, dlq in applied_queues)
        try:
            destination = applied.awslambda.get_function_event_invoke_config(FunctionName=f["function_name"])
            on_failure = arn_name(destination["DestinationConfig"]["OnFailure"]["Destination"])
        except applied.awslambda.exceptions.ResourceNotFoundException:
            on_failure = None
        expect(f"{key} where failures go", (local_queues.get(f["function_name"]) or ("-",))[0], on_failure)
    only_applied = set(applied_queues) - set(local_queues)
    if only_applied != {functions["settle"]["dead_letter_queue_name"]}:
        problems.append(f"queues of the apply missing locally: {sorted(only_applied)}; expected settle's dead-letter queue alone")

    # Functions run with the environment Lambda gives them.
    for f in stack["functions"]:
        try:
            configuration = applied.awslambda.get_function_configuration(FunctionName=functions[f["key"]]["function_name"])
            lambda_env = configuration.get("Environment", {}).get("Variables")
        except applied.awslambda.exceptions.ResourceNotFoundException:
            lambda_env = None
        expect(f"{f['key']} environment", f["environment"], lambda_env)

    expect("tables", local.tables(), applied.tables())
    applied_alarms = applied.alarms()
    slo_alarms = {name for name in applied_alarms if name in outputs["slo_window_alarms"]}
    if slo_alarms != set(outputs["slo_window_alarms"]):
        problems.append(f"burn-rate alarms of the catalog module missing in the apply: {sorted(set(outputs['slo_window_alarms']) - slo_alarms)}")
    expect("alarms (the SLO burn-rate alarms; operational ones watch Lambda and SQS)", local.alarms(), {n: applied_alarms[n] for n in slo_alarms})
    local_composites, applied_composites = local.composite_alarms(), applied.composite_alarms()
    if set(applied_composites) != set(outputs["slo_composite_alarms"]):
        problems.append(f"composite alarms of the apply: {sorted(applied_composites)}; expected the catalog module's")
    expect("composite alarms (rule and description; their actions notify AWS's SNS topics)", local_composites, applied_composites)
    expect("dashboards", local.dashboards(), applied.dashboards())
    summary = (f"{len(local_rules)} rules, {len(local_queues)} queues, {len(local.tables())} tables, "
               f"{len(local.alarms())} burn-rate alarms, {len(local_composites)} composite alarms, {len(local.dashboards())} dashboard")
    return problems, summary


def check(root, endpoint, flight_local):
    """The `between` step of apply_on_emulators: raises with every difference found."""
    region, enable_capture = root_settings(root.dir)
    problems, summary = differences(endpoint, root.name, region, enable_capture, flight_local)
    if problems:
        raise RuntimeError("the local stack differs from the apply:\n  " + "\n  ".join(problems))
    return f"equal ({summary})"
