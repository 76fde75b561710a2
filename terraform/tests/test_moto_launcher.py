"""The project's moto launcher (scripts/moto_server.py) answers as AWS does
where plain moto does not: percentile-rank statistics, the SLOs' composite
alarms and a function's KMS key survive a round trip through the API."""

import io
import json
import os
import unittest
import zipfile

from moto_service import CREDENTIALS, LAUNCHER, moto_server

try:
    import boto3
except ImportError:  # pragma: no cover - the venv of scripts/setup.sh has it
    boto3 = None


@unittest.skipIf(boto3 is None, "boto3 is not installed (run scripts/setup.sh)")
class MotoLauncherTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = moto_server()
        endpoint = cls.server.__enter__()
        options = dict(endpoint_url=endpoint, region_name="eu-west-1", **{k.lower(): v for k, v in CREDENTIALS.items()})
        cls.cloudwatch = boto3.client("cloudwatch", **options)
        cls.iam = boto3.client("iam", **options)
        cls.awslambda = boto3.client("lambda", **options)

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def put_alarm(self, name, extended_statistic):
        self.cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="FlightController",
            MetricName="ProjectLeadTime",
            Dimensions=[{"Name": "Environment", "Value": "dev"}],
            ExtendedStatistic=extended_statistic,
            ComparisonOperator="LessThanThreshold",
            Threshold=90,
            Period=604800,
            EvaluationPeriods=1,
            TreatMissingData="notBreaching",
        )

    def test_a_percentile_rank_slo_alarm_round_trips(self):
        self.put_alarm("flight-controller-dev-slo-project-lead-time", "PR(:259200)")
        alarms = self.cloudwatch.describe_alarms(AlarmNames=["flight-controller-dev-slo-project-lead-time"])["MetricAlarms"]
        self.assertEqual(len(alarms), 1)
        self.assertEqual(alarms[0]["ExtendedStatistic"], "PR(:259200)")
        self.assertNotIn("Statistic", alarms[0])
        self.assertEqual((alarms[0]["Threshold"], alarms[0]["Period"]), (90.0, 604800))

    def test_every_documented_extended_statistic_is_accepted(self):
        documented = ["p90", "p99.9", "tm90", "tc90", "ts90", "wm90", "IQM", "PR(100:2000)", "PR(:300)", "PR(10:)",
                      "TM(2%:98%)", "TM(150:1000)", "TC(0.005:0.030)", "TS(80%:)", "WM(10%:90%)"]
        for i, statistic in enumerate(documented):
            with self.subTest(statistic):
                self.put_alarm(f"documented-{i}", statistic)
                stored = self.cloudwatch.describe_alarms(AlarmNames=[f"documented-{i}"])["MetricAlarms"][0]
                self.assertEqual(stored["ExtendedStatistic"], statistic)

    def test_what_aws_does_not_document_is_still_refused(self):
        for statistic in ["PR(x)", "PR()", "PR(:)", "Average", "p101", "TM(150%:)", "pfoo"]:
            with self.subTest(statistic):
                with self.assertRaises(self.cloudwatch.exceptions.ClientError) as refused:
                    self.put_alarm("undocumented", statistic)
                self.assertEqual(refused.exception.response["Error"]["Code"], "InvalidParameterValue")

    def test_a_burn_rate_alarm_and_its_composite_alarm_round_trip(self):
        query = lambda id, stat: {
            "Id": id, "ReturnData": False,
            "MetricStat": {"Metric": {"Namespace": "FlightController", "MetricName": "ProjectLeadTime",
                                      "Dimensions": [{"Name": "Environment", "Value": "dev"}]}, "Period": 3600, "Stat": stat},
        }
        self.cloudwatch.put_metric_alarm(
            AlarmName="burn-1h", ComparisonOperator="GreaterThanThreshold", Threshold=5, EvaluationPeriods=1,
            DatapointsToAlarm=1, TreatMissingData="notBreaching",
            Metrics=[query("good", "PR(:259200)"), query("n", "SampleCount"),
                     {"Id": "burn", "Expression": "IF(n >= 3, (100 - good) / 10, 0)", "Label": "burn rate 1h", "ReturnData": True}],
        )
        rule = 'ALARM("burn-1h") AND ALARM("burn-1h")'
        topic = "arn:aws:sns:eu-west-1:123456789012:flight-controller-dev-page"
        self.cloudwatch.put_composite_alarm(AlarmName="slo-page", AlarmRule=rule, ActionsEnabled=True, AlarmActions=[topic], OKActions=[topic])
        described = self.cloudwatch.describe_alarms(AlarmNames=["burn-1h", "slo-page"], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        [burn], [composite] = described["MetricAlarms"], described["CompositeAlarms"]
        self.assertEqual([q["Id"] for q in burn["Metrics"]], ["good", "n", "burn"])
        self.assertEqual(burn["Metrics"][0]["MetricStat"]["Stat"], "PR(:259200)")
        self.assertEqual((composite["AlarmRule"], composite["AlarmActions"], composite["OKActions"]), (rule, [topic], [topic]))
        self.cloudwatch.delete_alarms(AlarmNames=["slo-page", "burn-1h"])
        self.assertEqual(self.cloudwatch.describe_alarms(AlarmNames=["slo-page"])["CompositeAlarms"], [])

    def test_a_functions_kms_key_round_trips(self):
        role = self.iam.create_role(RoleName="kms-round-trip", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\n")
        key = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
        self.awslambda.create_function(
            FunctionName="kms-round-trip", Role=role["Role"]["Arn"], Runtime="provided.al2023", Handler="bootstrap",
            Code={"ZipFile": code.getvalue()}, KMSKeyArn=key,
        )
        self.assertEqual(self.awslambda.get_function(FunctionName="kms-round-trip")["Configuration"]["KMSKeyArn"], key)
        other = key.replace("5555", "6666")
        self.awslambda.update_function_configuration(FunctionName="kms-round-trip", KMSKeyArn=other)
        self.assertEqual(self.awslambda.get_function_configuration(FunctionName="kms-round-trip")["KMSKeyArn"], other)

    def test_the_launcher_is_the_one_the_services_script_starts(self):
        services = (LAUNCHER.parent / "services.sh").read_text()
        self.assertIn("moto_server.py", services)
        self.assertTrue(os.access(LAUNCHER, os.R_OK))


if __name__ == "__main__":
    unittest.main()
