"""Shared by the stock-client modules (test_clients_*.py): a server, the key's bucket and a foreign
bucket made through the management API, and the way each client's results are collected."""
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import FAST_OPTIONS, MamuteServer
from test_s3_auth import API_KEY, client, make_bucket

CLIENTS_DIR = Path(__file__).resolve().parent / "clients"
SETUP_HINT = "scripts/setup.sh installs it"
MiB = 1024 * 1024


@dataclass
class Target:
    srv: MamuteServer
    bucket: str
    ak: str
    sk: str
    foreign: str  # a bucket that exists but belongs to another key

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.srv.s3_port}"

    def boto3(self):
        """Debian's boto3 on the same key: the cross-check that what a client wrote is what is stored."""
        return client(self.srv, self.ak, self.sk)


def start_target(tmp_path_factory, name):
    """A server with a generous body timeout (clients pause between parts on a loaded machine),
    the key's bucket `name` and a foreign bucket `name`-foreign with one object in it."""
    os.environ["MAMUTE_API_KEY"] = API_KEY
    os.environ["MAMUTE_ADMIN_PASSWORD"] = "correct horse battery staple"
    try:
        srv = MamuteServer(tmp_path_factory.mktemp(name), {**FAST_OPTIONS, "data-cores": 1, "pin-threads": False,
                                                           "body-timeout-ms": 10000,
                                                           "idle-timeout-ms": 10000}).start()
    finally:
        del os.environ["MAMUTE_API_KEY"]
        del os.environ["MAMUTE_ADMIN_PASSWORD"]
    _, c = make_bucket(srv, name)
    _, fc = make_bucket(srv, name + "-foreign")
    client(srv, fc["access_key_id"], fc["secret_access_key"]).put_object(Bucket=name + "-foreign", Key="x",
                                                                         Body=b"not yours")
    return Target(srv, name, c["access_key_id"], c["secret_access_key"], name + "-foreign")


def need_tool(name):
    """The path of a client's executable, or a skip that says why the module cannot run."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed ({SETUP_HINT})")
    return path


def cli(argv_prefix, env=None, timeout=120):
    """run(*args, check=True) for a command-line client: its CompletedProcess (text), and with
    check, an assertion that it exited 0 that shows what it printed."""
    def run(*args, check=True):
        p = subprocess.run([*argv_prefix, *args], capture_output=True, text=True, timeout=timeout, env=env)
        if check:
            assert p.returncode == 0, f"{' '.join(map(str, args))} exited {p.returncode}:\n{p.stdout}\n{p.stderr}"
        return p
    return run


class ScenarioRun:
    """One run of a client's scenario program, which prints a JSON line {name, ok, error, info}
    per scenario."""

    def __init__(self, target, stdout, output, expected):
        self.t = target
        self.output = output
        self.expected = expected
        self.results = {}
        for line in stdout.splitlines():
            if line.strip().startswith("{"):
                r = json.loads(line)
                self.results[r["name"]] = r

    def check(self, name):
        assert set(self.results) <= set(self.expected), f"unasserted scenarios: {set(self.results) - set(self.expected)}"
        assert name in self.results, f"scenario {name} did not report; the client's output:\n{self.output[-4000:]}"
        r = self.results[name]
        assert r["ok"], f"{name}: {r.get('error')} (info {r.get('info')})"
        return r


def run_scenarios(tmp_path_factory, bucket, argv, expected, **kwargs):
    """For a module fixture: a target, the scenario program argv(target) run once, the server
    stopped (exit code 0) at the end."""
    t = start_target(tmp_path_factory, bucket)
    p = subprocess.run(argv(t), capture_output=True, text=True, timeout=180, **kwargs)
    yield ScenarioRun(t, p.stdout, p.stdout + p.stderr, expected)
    assert t.srv.stop() == 0
