"""moto server as the project's tests run it: moto's own server, with three
gaps closed where moto answers otherwise than AWS.

    python scripts/moto_server.py [moto_server's arguments, e.g. -H 127.0.0.1 -p 5000]

The test-harness differences from plain moto_server, and the only ones:

1. CloudWatch PutMetricAlarm takes every extended statistic AWS documents, not
only percentiles (`p90`). moto refuses anything that does not start with `p`,
so the SLO alarms of "90 % of values at most T" (`PR(:T)`, percentile rank)
could not be created on it, while CloudWatch creates them. Documented syntax
(CloudWatch API reference, PutMetricAlarm ExtendedStatistic; CloudWatch
User Guide, "CloudWatch statistics definitions"):

    p90  tm90  tc90  ts90  wm90   shorthand, a percentage 0-100 (up to 10 decimals)
    IQM                           interquartile mean, TM(25%:75%)
    PR(n:m)                       percentile rank between metric values n (exclusive) and m (inclusive)
    TM(a:b) TC(a:b) TS(a:b) WM(a:b)   trimmed mean/count/sum, winsorized mean; a and b
                                  percentages (`10%`) or metric values
    in the ranged forms either bound may be left out (`PR(:300)`, `TS(80%:)`), not both.

Anything else is refused with moto's own error, as before. moto still does not
evaluate these statistics (it evaluates no alarm from data); it stores the
alarm and returns it from DescribeAlarms as CloudWatch does.

2. CloudWatch PutCompositeAlarm exists. moto stores composite alarms (an
alarm with an AlarmRule, returned under CompositeAlarms by DescribeAlarms)
but does not route the PutCompositeAlarm action, answering every call with an
internal error; the burn-rate pages and tickets (one composite per SLO and
severity) could not be created on it. It is routed to moto's own storage.
moto evaluates no composite alarm either.

3. Lambda keeps a function's `KMSKeyArn` (the key of its environment
variables) and returns it from GetFunction, as Lambda does. moto drops it, so
every `terraform plan` after an apply would want to set it again.
"""

import re
import sys

from moto.awslambda.models import LambdaFunction
from moto.cloudwatch.exceptions import InvalidParameterValue
from moto.cloudwatch.models import CloudWatchBackend
from moto.cloudwatch.responses import CloudWatchResponse
from moto.server import main as moto_server_main

_PERCENTAGE = r"(?:100(?:\.0{1,10})?|\d{1,2}(?:\.\d{1,10})?)"
_VALUE = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_BOUND = rf"(?:{_PERCENTAGE}%|{_VALUE})"
EXTENDED_STATISTIC = re.compile(
    rf"""
    (?:p|tm|tc|ts|wm){_PERCENTAGE}                       # p90, tm99.9, ...
    | IQM
    | PR\((?:{_VALUE}:(?:{_VALUE})?|:{_VALUE})\)         # PR(n:m), PR(:m), PR(n:)
    | (?:TM|TC|TS|WM)\((?:{_BOUND}:(?:{_BOUND})?|:{_BOUND})\)
    """,
    re.VERBOSE,
)


def is_extended_statistic(value):
    """Whether CloudWatch documents `value` as an ExtendedStatistic."""
    return EXTENDED_STATISTIC.fullmatch(value) is not None


def accept_every_extended_statistic():
    """Wraps moto's PutMetricAlarm so that it validates ExtendedStatistic with
    the documented syntax instead of "starts with p"."""
    original = CloudWatchBackend.put_metric_alarm
    if getattr(original, "accepts_every_extended_statistic", False):
        return

    def put_metric_alarm(self, *args, **kwargs):
        extended_statistic = kwargs.pop("extended_statistic", None)
        if extended_statistic is None:
            return original(self, *args, **kwargs)
        if not is_extended_statistic(extended_statistic):
            raise InvalidParameterValue(f"The value {extended_statistic} for parameter ExtendedStatistic is not supported.")
        alarm = original(self, *args, extended_statistic=None, **kwargs)
        alarm.extended_statistic = extended_statistic
        return alarm

    put_metric_alarm.accepts_every_extended_statistic = True
    CloudWatchBackend.put_metric_alarm = put_metric_alarm


def accept_composite_alarms():
    """Routes PutCompositeAlarm to moto's PutMetricAlarm handler, which
    already reads AlarmRule and stores the alarm as a composite one."""
    if hasattr(CloudWatchResponse, "put_composite_alarm"):
        return
    CloudWatchResponse.put_composite_alarm = CloudWatchResponse.put_metric_alarm


def keep_function_kms_key():
    """Makes moto's Lambda functions remember KMSKeyArn from CreateFunction
    and UpdateFunctionConfiguration, and return it in their configuration."""
    if getattr(LambdaFunction, "keeps_kms_key_arn", False):
        return
    create, configuration, update = LambdaFunction.__init__, LambdaFunction.get_configuration, LambdaFunction.update_configuration

    def __init__(self, account_id, spec, *args, **kwargs):
        create(self, account_id, spec, *args, **kwargs)
        self.kms_key_arn = spec.get("KMSKeyArn") or None

    def get_configuration(self, *args, **kwargs):
        config = configuration(self, *args, **kwargs)
        if getattr(self, "kms_key_arn", None):
            config["KMSKeyArn"] = self.kms_key_arn
        return config

    def update_configuration(self, config_updates):
        if "KMSKeyArn" in config_updates:
            self.kms_key_arn = config_updates["KMSKeyArn"] or None
        return update(self, config_updates)

    LambdaFunction.__init__, LambdaFunction.get_configuration, LambdaFunction.update_configuration = (
        __init__,
        get_configuration,
        update_configuration,
    )
    LambdaFunction.keeps_kms_key_arn = True


def close_the_gaps():
    """Applies every difference listed above (idempotent)."""
    accept_every_extended_statistic()
    accept_composite_alarms()
    keep_function_kms_key()


if __name__ == "__main__":
    close_the_gaps()
    moto_server_main(sys.argv[1:])
