"""Fixtures for the HTTP integration tests: start the real mamute binary.

The binary comes from $MAMUTE_BIN (default: <repo>/build/src/mamute). Each
server gets a fresh temporary data directory, free ports on 127.0.0.1, and its
stdout (the access log) and stderr (the server log) captured to files in the
test's temporary directory, so a failing test can be debugged afterwards.

Run with Debian's interpreter:
    MAMUTE_BIN=/path/to/mamute /usr/bin/python3 -m pytest tests/integration -q
"""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAMUTE_BIN = os.environ.get("MAMUTE_BIN", str(REPO / "build" / "src" / "mamute"))

# Short timeouts so the suite runs fast; the timer granularity is 100 ms.
FAST_OPTIONS = {
    "header-timeout-ms": 1000,
    "idle-timeout-ms": 1500,
    "body-timeout-ms": 1000,
    "shutdown-timeout-ms": 5000,
}

# The management API key most suites bootstrap with (MAMUTE_API_KEY); api() uses it for a server
# that was not given another (start_bootstrapped).
API_KEY = "mk_test_" + "k" * 32


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def simple_get(port, path, timeout=1.0):
    """Minimal one-shot HTTP/1.1 GET: returns (status, body bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body


class MamuteServer:
    """One running mamute process."""

    def __init__(self, workdir, options, env=None):
        self.workdir = Path(workdir)
        self.env = dict(env or {})  # extra environment variables for the process
        self.stdout_fd = None  # set before start(): the process's stdout (else stdout.log)
        self.api_key = self.env.get("MAMUTE_API_KEY", API_KEY)  # the default key of api()
        self.secrets = []
        self.data_dir = self.workdir / "data"
        self.stdout_path = self.workdir / "stdout.log"
        self.stderr_path = self.workdir / "stderr.log"
        self.options = dict(options)
        self.proc = None
        self.s3_port = None
        self.api_port = None
        self.returncode = None

    # ------------------------------------------------------------ lifecycle
    def start(self, attempts=3):
        if not os.access(MAMUTE_BIN, os.X_OK):
            pytest.fail(f"mamute binary not found or not executable: {MAMUTE_BIN} (set MAMUTE_BIN)")
        last_err = None
        for _ in range(attempts):
            self.s3_port, self.api_port = free_port(), free_port()
            while self.api_port == self.s3_port:
                self.api_port = free_port()
            args = [
                MAMUTE_BIN,
                "--data-dir", str(self.data_dir),
                "--s3-listen", f"127.0.0.1:{self.s3_port}",
                "--api-listen", f"127.0.0.1:{self.api_port}",
                "--test-routes=true",
            ]
            for k, v in self.options.items():
                for item in v if isinstance(v, list) else [v]:  # a list: the flag repeated
                    if isinstance(item, bool):
                        item = "true" if item else "false"
                    args.append(f"--{k}={item}")
            self.args = args
            out = open(self.stdout_path, "ab")
            err = open(self.stderr_path, "ab")
            try:
                self.proc = subprocess.Popen(args, stdout=out if self.stdout_fd is None else self.stdout_fd,
                                             stderr=err, stdin=subprocess.DEVNULL,
                                             env={**os.environ, **self.env} if self.env else None)
            finally:
                out.close()
                err.close()
            try:
                self._wait_ready()
                return self
            except RuntimeError as e:  # e.g. a port taken between free_port() and bind
                last_err = e
                if self.proc.poll() is None:
                    self.proc.kill()
                    self.proc.wait()
        pytest.fail(f"mamute did not start: {last_err}\n--- stderr ---\n{self.stderr_tail()}")

    def _wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited early with code {self.proc.returncode}")
            try:
                status, body = simple_get(self.api_port, "/healthz")
                if status == 200 and b'"ok"' in body:
                    # The data shards are started before the management shard,
                    # so a healthy management API means the S3 port is listening.
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("not ready within %.0f s" % timeout)

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        """Sends the signal, waits for the exit and returns the exit code."""
        if self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.returncode = "hung (killed after %.0f s)" % timeout
        return self.returncode

    # ------------------------------------------------------------ helpers
    def stderr_tail(self, n=40):
        try:
            lines = self.stderr_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stdout_text(self):
        return self.stdout_path.read_text(errors="replace")

    def status_field(self, field):
        """A field of /proc/<pid>/status in KiB (VmRSS, VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def metrics(self):
        """Parses /metrics into {(name, frozenset(labels)): value}."""
        status, body = simple_get(self.api_port, "/metrics", timeout=5.0)
        assert status == 200
        out = {}
        for line in body.decode().splitlines():
            if not line or line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            if "{" in key:
                name, _, labels = key.partition("{")
                pairs = []
                for part in labels.rstrip("}").split(","):
                    k, _, v = part.partition("=")
                    pairs.append((k, v.strip('"')))
                out[(name, frozenset(pairs))] = int(value)
            else:
                out[(key, frozenset())] = int(value)
        return out

    def metric(self, name, service="s3", **labels):
        """Sum of a metric over the shards of one service (and any extra labels)."""
        want = {"service": service, **{k: str(v) for k, v in labels.items()}}
        total = 0
        for (n, lab), v in self.metrics().items():
            d = dict(lab)
            if n == name and all(d.get(k) == v for k, v in want.items()):
                total += v
        return total

    def __repr__(self):
        return f"<mamute s3={self.s3_port} api={self.api_port} logs={self.workdir}>"


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


@pytest.fixture(scope="session", autouse=True)
def no_sanitizer_reports(tmp_path_factory):
    """After the whole run: no server log holds an ASan/LSan/UBSan report (the suite also
    runs against the sanitized build, scripts/test.sh)."""
    yield
    found = []
    for log in Path(tmp_path_factory.getbasetemp()).rglob("stderr*.log"):
        text = log.read_text(errors="replace")
        for marker in SANITIZER_MARKERS:
            at = text.find(marker)
            if at >= 0:
                found.append(f"{log}:\n{text[max(0, at - 200):at + 3000]}")
                break
    assert not found, "sanitizer reports in server logs:\n" + "\n\n".join(found)


def _finish(srv):
    rc = srv.stop()
    assert rc == 0, f"mamute exited with {rc}; stderr tail:\n{srv.stderr_tail()}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A shared server with short timeouts and one data shard, for tests that
    only need a running server (they must not depend on its exact counters)."""
    srv = MamuteServer(tmp_path_factory.mktemp("mamute-shared"),
                       {**FAST_OPTIONS, "data-cores": 1, "pin-threads": False}).start()
    yield srv
    _finish(srv)


def start_bootstrapped(tmp_path_factory, name, options, api_key, password=None):
    """Starts a server whose first start bootstraps the management API from the environment:
    MAMUTE_API_KEY=api_key (and MAMUTE_ADMIN_PASSWORD=password, the admin@localhost user,
    when given). `options` are added to the fast test options (one unpinned data shard).
    The server remembers its key (`srv.api_key`, the default key of api()) and its secrets
    (`srv.secrets`, for tests that check they never reach a log)."""
    env = {"MAMUTE_API_KEY": api_key}
    if password is not None:
        env["MAMUTE_ADMIN_PASSWORD"] = password
    srv = MamuteServer(tmp_path_factory.mktemp(name),
                       {**FAST_OPTIONS, "data-cores": 1, "pin-threads": False, **options}, env=env)
    srv.secrets = [s for s in (api_key, password) if s is not None]
    return srv.start()


_SERVER_KEY = object()


def api(srv, method, path, body=None, key=_SERVER_KEY, token=None, headers=None, timeout=30):
    """One management API call: returns (status, parsed JSON body or None). Authenticates with
    `token` (a bearer JWT) if given, else with `key` (default: the server's bootstrap key, or
    API_KEY for a server started with it in os.environ; None: no credentials); `headers` adds or overrides headers."""
    h = {"content-type": "application/json"}
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    elif key is _SERVER_KEY:
        h["X-API-Key"] = srv.api_key
    elif key is not None:
        h["X-API-Key"] = key
    h.update(headers or {})
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{srv.api_port}{path}", data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(**options) starts a dedicated server (option names
    use underscores for dashes); every server started is stopped with SIGTERM
    at teardown, and its exit code must be 0."""
    started = []

    def start(**options):
        opts = {**FAST_OPTIONS, "data-cores": 1, "pin-threads": False}
        opts.update({k.replace("_", "-"): v for k, v in options.items()})
        srv = MamuteServer(tmp_path / f"server{len(started)}", opts)
        (tmp_path / f"server{len(started)}").mkdir()
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        _finish(srv)
