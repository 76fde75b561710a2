"""moto server for the Terraform tests, started through the project's launcher
(scripts/moto_server.py: moto with the gaps to AWS that it documents closed),
on a free loopback port, stopped with everything it started."""

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from flight_terraform import REPO_ROOT

LAUNCHER = REPO_ROOT / "scripts" / "moto_server.py"

# Fake credentials: moto accepts any, and nothing may reach a real account.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moto_python():
    """A Python with moto installed: this one (the project's venv), else the one beside moto_server."""
    if importlib.util.find_spec("moto") is not None:
        return sys.executable
    else:
        server = shutil.which("moto_server")
        beside = server and Path(server).with_name("python")
        if beside and beside.exists():
            return str(beside)
    return None


@contextlib.contextmanager
def moto_server(log_path=os.devnull, timeout=60):
    """Yields the endpoint (http://127.0.0.1:PORT) of a fresh moto server."""
    python = moto_python()
    if python is None:
        raise RuntimeError("moto is not installed: run scripts/setup.sh")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with open(log_path, "ab") as log:
        # In the caller's process group: whoever stops the group stops moto too.
        server = subprocess.Popen(
            [python, str(LAUNCHER), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not answer on {endpoint} (log: {log_path})")
                time.sleep(0.1)
        yield endpoint
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
