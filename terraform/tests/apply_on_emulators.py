"""Applies environment roots, unchanged, to moto server: apply, a second plan
that must show no changes, then destroy, which must leave an empty state.

    python terraform/tests/apply_on_emulators.py --copy DIR --plugin-dir DIR --apply dev [--apply prod | --plan prod]

DIR (--copy) is a scratch copy of the repository's terraform/ and events/;
each attempt works in its own copy of them, DIR/attempt-N (terraform init
writes beside the configuration). Into each root of that copy goes one
file, emulator_override.tf, that only sets the local backend and points
every AWS service the module uses at moto with fake credentials; the
functions' zips are placeholders (Lambda stores them, nothing runs them).
moto is started through scripts/moto_server.py on a free port and stopped at
the end. Roots named with --plan are only planned against the same
emulators (the provider reads the empty account and plans every resource).
The roots run side by side. Production keeps its event store
(deletion_protection = true), so it is destroyed as the README says a real
one is: apply with -var deletion_protection=false, then destroy.

Prints, per root, the resources created by type, the re-plan's result, the
times, and what destroy left; exits 1 if anything failed.

moto is one threaded Python process; on a loaded machine a Lambda
CreateFunction was answered 409 "already exist" minutes into an apply (moto
had done the work; an earlier answer apparently never reached the
provider: terraform/README.md). A failed attempt is reported with the
requests moto refused or failed, and the whole run is made once more on a
fresh moto and a fresh copy (--attempts): the output says which attempt
passed, and a failure that repeats fails the check.
Every terraform command is bounded (--command-timeout).
"""

import argparse
import collections
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import local_stack_parity
from moto_service import CREDENTIALS, moto_server

# Every service the resource module calls, as the aws provider's endpoints
# block names them (sts: the caller identity of the account id).
SERVICES = ["cloudwatch", "dynamodb", "events", "iam", "kms", "lambda", "logs", "sns", "sqs", "sts"]
ZIPS = ["ingest.zip", "settle.zip", "capture.zip"]

OVERRIDE = """# Written by terraform/tests/apply_on_emulators.py: state on local disk and
# every service on moto server with fake credentials. Nothing else differs
# from the root as it is deployed.
terraform {{
  backend "local" {{}}
}}

provider "aws" {{
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {{
{endpoints}
  }}
}}
"""


def override(endpoint):
    return OVERRIDE.format(endpoints="\n".join(f'    {s:<10} = "{endpoint}"' for s in SERVICES))


def placeholder_zips(directory):
    directory.mkdir(parents=True, exist_ok=True)
    for name in ZIPS:
        with zipfile.ZipFile(directory / name, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\n# placeholder: Lambda on moto stores the code and never runs it\n")


def resource_type(address):
    """`module.a.aws_x.name["key"]` -> "aws_x"; None for a data source."""
    tokens = address.split("[")[0].split(".")
    while tokens[:1] == ["module"]:
        tokens = tokens[2:]
    return None if tokens[0] == "data" else tokens[0]


class Root:
    """One environment root of the copy, with its own data dir and log."""

    def __init__(self, copy, name, plugin_dir, parallelism, logs, command_timeout):
        self.name = name
        self.command_timeout = command_timeout
        self.dir = copy / "terraform" / "environments" / name
        self.plugin_dir = plugin_dir
        self.parallelism = parallelism
        self.log = logs / f"{name}.log"
        self.env = dict(os.environ, TF_IN_AUTOMATION="1", TF_INPUT="0", TF_DATA_DIR=str(logs / f"{name}.terraform"), **CREDENTIALS)
        self.result = {"root": name, "ok": False, "failed_at": None}

    def terraform(self, *args, ok_codes=(0,)):
        started = time.monotonic()
        with open(self.log, "a") as log:
            log.write(f"\n$ terraform {' '.join(args)}\n")
            log.flush()
            try:
                code = subprocess.run(
                    ["terraform", *args], cwd=self.dir, env=self.env, stdout=log, stderr=subprocess.STDOUT, timeout=self.command_timeout
                ).returncode
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"terraform {args[0]} still running after {self.command_timeout} s (stopped)") from None
        if code not in ok_codes:
            raise RuntimeError(f"terraform {args[0]} exited {code}")
        return code, time.monotonic() - started

    def state_types(self):
        """Managed resources in the state, counted by type (data sources left out)."""
        listed = subprocess.run(["terraform", "state", "list"], cwd=self.dir, env=self.env, capture_output=True, text=True, check=True)
        return collections.Counter(resource_type(address) for address in listed.stdout.splitlines() if resource_type(address))

    def prepare(self, endpoint):
        (self.dir / "emulator_override.tf").write_text(override(endpoint))
        self.terraform("init", "-no-color", f"-plugin-dir={self.plugin_dir}")

    def cycle(self, endpoint, between=None):
        """init, apply, plan -detailed-exitcode (no changes), [between(self)], destroy (empty state)."""
        self.result["mode"] = "applied"
        step = "init"
        try:
            self.prepare(endpoint)
            step = "apply"
            _, self.result["apply_s"] = self.terraform("apply", "-auto-approve", "-no-color", f"-parallelism={self.parallelism}")
            self.result["created"] = self.state_types()
            step = "plan after apply"
            code, self.result["plan_s"] = self.terraform("plan", "-detailed-exitcode", "-no-color", f"-parallelism={self.parallelism}", ok_codes=(0, 2))
            self.result["plan"] = "no changes" if code == 0 else "CHANGES (exit 2)"
            if code != 0:
                raise RuntimeError("the plan after apply wants changes")
            compared = None
            if between:
                # Destroy whatever the comparison finds: its failure is reported after.
                try:
                    compare_started = time.monotonic()
                    self.result["between"] = between(self)
                    self.result["compare_s"] = time.monotonic() - compare_started
                except Exception as error:
                    self.result["between"] = "DIFFERENT"
                    compared = f"checks on the applied stack: {error}"
            destroy_vars = []
            if self.protected():
                step = "apply -var deletion_protection=false"
                _, self.result["unprotect_s"] = self.terraform(
                    "apply", "-auto-approve", "-no-color", "-refresh=false", f"-parallelism={self.parallelism}", "-var", "deletion_protection=false"
                )
                destroy_vars = ["-var", "deletion_protection=false"]
            # The plan just refreshed every resource and found them as applied.
            step = "destroy"
            _, self.result["destroy_s"] = self.terraform("destroy", "-auto-approve", "-no-color", "-refresh=false", f"-parallelism={self.parallelism}", *destroy_vars)
            self.result["left"] = sum(self.state_types().values())
            if self.result["left"]:
                raise RuntimeError(f"{self.result['left']} resources left in the state after destroy")
            if compared:
                self.result["failed_at"] = compared
                return self.result
            self.result["ok"] = True
        except Exception as error:  # reported with the log's tail
            self.result["failed_at"] = f"{step}: {error}"
        return self.result

    def plan_only(self, endpoint):
        """init and plan against the emulators: the provider reads the (empty) account and plans every resource."""
        self.result["mode"] = "planned"
        step = "init"
        try:
            self.prepare(endpoint)
            step = "plan"
            code, self.result["plan_s"] = self.terraform(
                "plan", "-detailed-exitcode", "-no-color", f"-parallelism={self.parallelism}", "-out=emulators.tfplan", ok_codes=(2,)
            )
            shown = subprocess.run(["terraform", "show", "-json", "emulators.tfplan"], cwd=self.dir, env=self.env, capture_output=True, text=True, check=True)
            changes = json.loads(shown.stdout)["resource_changes"]
            self.result["created"] = collections.Counter(c["type"] for c in changes if c["mode"] == "managed" and c["change"]["actions"] == ["create"])
            others = [c["address"] for c in changes if c["mode"] == "managed" and c["change"]["actions"] not in (["create"], ["no-op"])]
            if others:
                raise RuntimeError(f"the plan on an empty account does more than create: {others[:5]}")
            self.result["plan"] = "creates all"
            self.result["ok"] = True
        except Exception as error:
            self.result["failed_at"] = f"{step}: {error}"
        return self.result

    def protected(self):
        tfvars = (self.dir / "terraform.tfvars").read_text()
        return any(line.replace(" ", "") == "deletion_protection=true" for line in tfvars.splitlines())


def table(results):
    roots = [f'{r["root"]} ({r.get("mode", "?")})' for r in results]
    types = sorted({t for r in results for t in r.get("created", {})})
    width = max([len("apply deletion_protection=false")] + [len(t) for t in types]) + 2
    line = lambda label, values: print(f"  {label:<{width}}" + "".join(f"{v:>17}" for v in values))
    line("resources, by type", roots)
    for t in types:
        line(t, [r.get("created", {}).get(t, 0) for r in results])
    line("total", [sum(r.get("created", {}).values()) for r in results])
    seconds = lambda key: [f"{r[key]:.0f} s" if key in r else "-" for r in results]
    line("apply", seconds("apply_s"))
    line("plan (after apply: no changes)", [r.get("plan", "-") for r in results])
    line("plan time", seconds("plan_s"))
    if any("unprotect_s" in r for r in results):
        line("apply deletion_protection=false", seconds("unprotect_s"))
    if any("between" in r for r in results) or any(r.get("mode") == "applied" for r in results):
        line("local stack = apply", [r.get("between", "-").split(" (")[0] if r.get("mode") == "applied" else "-" for r in results])
        line("comparison time", seconds("compare_s"))
    line("destroy", seconds("destroy_s"))
    line("left in state after destroy", [r.get("left", "-") for r in results])


def moto_errors(moto_log, limit=15):
    """What moto said of a failed attempt: its answers counted by status, and
    the last `limit` lines that were 5xx or 409 answers or tracebacks (the 4xx
    of a read before a create, "not found", are the provider's normal path)."""
    if not moto_log.exists():
        return ["no moto log"]
    status = re.compile(r'" (\d\d\d) ')
    counts, notable = collections.Counter(), []
    for line in moto_log.read_text(errors="replace").splitlines():
        found = status.search(line)
        if found:
            counts[found.group(1)] += 1
        if (found and (found.group(1).startswith("5") or found.group(1) == "409")) or line.startswith(("Traceback", "Exception", "Error")):
            notable.append(line)
    summary = "answers by status: " + ", ".join(f"{code} x{n}" for code, n in sorted(counts.items()))
    return [summary] + (notable[-limit:] or ["no 5xx or 409 answer and no traceback"])


def attempt(args, number):
    """One run of every root on a fresh moto, in a fresh copy DIR/attempt-N."""
    copy = args.copy.resolve() / f"attempt-{number}"
    shutil.rmtree(copy, ignore_errors=True)
    for tree in ("terraform", "events"):
        shutil.copytree(args.copy.resolve() / tree, copy / tree, symlinks=True)
    logs = copy / "emulator-logs"
    logs.mkdir(exist_ok=True)
    # The roots' default lambda_zip_dir: dist/ at the copy's root.
    placeholder_zips(copy / "dist")

    started = time.monotonic()
    root = lambda name: Root(copy, name, args.plugin_dir, args.parallelism, logs, args.command_timeout)
    with moto_server(log_path=logs / "moto.log") as endpoint:
        print(f"attempt {number}: moto (scripts/moto_server.py) on {endpoint}; roots: {', '.join(args.apply + args.plan)}; logs in {logs}")
        with concurrent.futures.ThreadPoolExecutor(len(args.apply + args.plan)) as pool:
            parity = args.flight_local and (lambda applied: local_stack_parity.check(applied, endpoint, args.flight_local))
            running = [pool.submit(root(name).cycle, endpoint, parity) for name in args.apply]
            running += [pool.submit(root(name).plan_only, endpoint) for name in args.plan]
            results = [r.result() for r in running]
    table(results)
    for r in results:
        if "between" in r:
            print(f"  {r['root']}: flight-local provision vs the apply: {r['between']}")
    print(f"  wall time, moto start to stop: {time.monotonic() - started:.0f} s")
    failed = [r for r in results if not r["ok"]]
    for result in failed:
        log = logs / f"{result['root']}.log"
        if log.exists():
            print(f"FAILED {result['root']}: {result['failed_at']}; last lines of {log}:")
            print("".join(log.read_text(errors="replace").splitlines(keepends=True)[-40:]))
        else:
            print(f"FAILED {result['root']}: {result['failed_at']} (no terraform log: it failed before terraform ran)")
    if failed:
        print(f"moto ({logs / 'moto.log'}):")
        print("\n".join(f"  {line}" for line in moto_errors(logs / "moto.log")))
    return failed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copy", type=Path, required=True, help="scratch copy holding terraform/ and events/")
    parser.add_argument("--plugin-dir", required=True, help="where registry.terraform.io/hashicorp/aws is installed")
    parser.add_argument("--apply", action="append", default=[], metavar="ROOT", help="roots to apply, re-plan and destroy")
    parser.add_argument("--plan", action="append", default=[], metavar="ROOT", help="roots to plan only, against the same emulators")
    parser.add_argument("--parallelism", type=int, default=64)
    parser.add_argument("--flight-local", help="flight-local binary: compare what its `provision` creates with each apply")
    parser.add_argument("--attempts", type=int, default=2, help="runs on a fresh moto before a failure counts (default 2)")
    parser.add_argument("--command-timeout", type=int, default=900, metavar="SECONDS", help="bound on each terraform command (default 900)")
    args = parser.parse_args(argv)
    if not args.apply + args.plan:
        parser.error("name at least one root with --apply or --plan")

    for number in range(1, args.attempts + 1):
        failed = attempt(args, number)
        if not failed:
            if number > 1:
                print(f"passed on attempt {number} of {args.attempts}; the failures above were on attempt {number - 1}'s moto")
            return 0
        if number < args.attempts:
            print(f"attempt {number} failed ({', '.join(r['root'] for r in failed)}): once more on a fresh moto and a fresh copy\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
