"""The event patterns the catalog module generates, run through EventBridge
pattern matching as emulated by moto server: every event reaches the rule of
its type and no other, whichever spelling and field carry the type."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import unittest
import urllib.request
from pathlib import Path

from flight_terraform import catalog_outputs


def moto_server_command():
    """The moto_server beside this Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("moto_server")
    return str(beside) if beside.exists() else shutil.which("moto_server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EventPatternsOnMotoTest(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        try:
            import boto3
        except ImportError:
            raise unittest.SkipTest("boto3 is not installed (run scripts/setup.sh)")
        endpoint = os.environ.get("MOTO_ENDPOINT")
        if not endpoint:
            command = moto_server_command()
            if not command:
                raise unittest.SkipTest("moto_server is not installed (run scripts/setup.sh)")
            port = free_port()
            endpoint = f"http://127.0.0.1:{port}"
            cls.server = subprocess.Popen(
                [command, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(endpoint, timeout=1)
                    break
                except OSError:
                    if cls.server.poll() is not None or time.monotonic() > deadline:
                        cls.tearDownClass()
                        raise RuntimeError(f"moto_server did not start on {endpoint}")
                    time.sleep(0.1)
        options = dict(
            endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        cls.events = boto3.client("events", **options)
        cls.sqs = boto3.client("sqs", **options)
        cls.outputs = catalog_outputs(enable_capture=True)

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.terminate()
            cls.server.wait(timeout=10)
            cls.server = None

    def route(self, bus, rules):
        """Creates one rule per (name, pattern) on a new bus, each delivering to its own queue."""
        self.events.create_event_bus(Name=bus)
        queues = {}
        for name, pattern in rules.items():
            url = self.sqs.create_queue(QueueName=f"{bus}-{name}")["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.events.put_rule(Name=name, EventBusName=bus, EventPattern=pattern)
            self.events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
            queues[name] = url
        return queues

    def deliver(self, bus, queues, cases):
        """Puts each case's event on the bus; returns case id -> names of the rules that delivered it."""
        entries = [
            {"Source": "flight-controller.test", "DetailType": c["detail_type"], "Detail": json.dumps(dict(c["detail"], case=i)), "EventBusName": bus}
            for i, c in enumerate(cases)
        ]
        for start in range(0, len(entries), 10):
            result = self.events.put_events(Entries=entries[start : start + 10])
            self.assertEqual(result["FailedEntryCount"], 0, result)
        expected_messages = sum(len(c["expect"]) for c in cases)
        delivered = {i: set() for i in range(len(cases))}
        received, deadline = 0, time.monotonic() + 20
        while received < expected_messages and time.monotonic() < deadline:
            for name, url in queues.items():
                for message in self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                    delivered[json.loads(message["Body"])["detail"]["case"]].add(name)
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    received += 1
        return delivered

    def test_every_spelling_of_every_event_type_reaches_its_rule_only(self):
        event_types = self.outputs["event_types"]
        queues = self.route("patterns", {name: self.outputs["event_patterns"][name] for name in event_types})
        names = sorted(event_types)
        cases = []
        for position, name in enumerate(names):
            spellings = [name] + event_types[name]["aliases"]
            other = names[(position + 1) % len(names)]
            for spelling in spellings:
                # event_type in the detail wins, whatever the free-text detail-type says.
                cases.append({"detail_type": "Test Event", "detail": {"event_type": spelling}, "expect": {name}})
                # No event_type: the EventBridge detail-type names the type.
                cases.append({"detail_type": spelling, "detail": {"aggregate_id": "a-1"}, "expect": {name}})
            # detail-type is ignored when detail.event_type names another type.
            cases.append({"detail_type": name, "detail": {"event_type": other}, "expect": {other}})
        cases.append({"detail_type": "Test Event", "detail": {"event_type": "NotInTheCatalog"}, "expect": set()})
        cases.append({"detail_type": "NotInTheCatalog", "detail": {}, "expect": set()})

        delivered = self.deliver("patterns", queues, cases)
        for i, case in enumerate(cases):
            with self.subTest(detail_type=case["detail_type"], detail=case["detail"]):
                self.assertEqual(delivered[i], case["expect"])

    def test_capture_rule_matches_only_test_events(self):
        queues = self.route("capture", {"capture": self.outputs["capture_event_pattern"]})
        cases = [
            {"detail_type": "ProjectRequested", "detail": {"test_run_id": "run-1"}, "expect": {"capture"}},
            {"detail_type": "ProjectRequested", "detail": {"event_type": "ProjectRequested"}, "expect": set()},
        ]
        delivered = self.deliver("capture", queues, cases)
        self.assertEqual([delivered[i] for i in range(len(cases))], [c["expect"] for c in cases])


if __name__ == "__main__":
    unittest.main()
