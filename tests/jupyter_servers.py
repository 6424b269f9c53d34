"""A Jupyter server on loopback for the tests that need one (test_browser: JupyterLab;
test_hub: jupyter-server with nbgitpuller): a free port, a token, started, waited
for, and always stopped."""

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_server(command, log_path, env, cwd=None, wait_s=120):
    """Run ``command + [--port, --ip, token options]``; yield ``(url, token)`` once its
    ``/api/status`` answers (the log's tail if it exits or stays silent for
    ``wait_s`` seconds); terminate it afterwards, killing it after 30 s."""
    port, token = free_port(), uuid.uuid4().hex
    command = list(command) + [f"--port={port}", "--ip=127.0.0.1", "--no-browser",
                               f"--IdentityProvider.token={token}",
                               "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    url = f"http://127.0.0.1:{port}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, cwd=cwd, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    with direct.open(f"{url}/api/status?token={token}", timeout=2):
                        break
                except OSError:
                    if server.poll() is not None:
                        pytest.fail(f"{command[0]} exited: {Path(log_path).read_text()[-2000:]}")
                    if time.monotonic() > deadline:
                        pytest.fail(f"{command[0]} did not answer within {wait_s} s: "
                                    f"{Path(log_path).read_text()[-2000:]}")
                    time.sleep(0.5)
            yield url, token
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
