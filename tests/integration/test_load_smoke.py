"""Smoke run of the load generator (bench/load, mamute-load) against a started mamute.

Runs put, get, mixed, list and stat for a second or two each with every signing mode and checks
the JSON result: operations happened, none failed. No timed assertion (the machines are shared).
The binary comes from $MAMUTE_LOAD_BIN (default: next to $MAMUTE_BIN's build,
<build>/bench/load/mamute-load).
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import MAMUTE_BIN
from test_s3_auth import make_bucket, srv  # noqa: F401 (srv is a fixture: a server with a known API key)

LOAD_BIN = os.environ.get("MAMUTE_LOAD_BIN",
                          str(Path(MAMUTE_BIN).resolve().parents[1] / "bench" / "load" / "mamute-load"))


@pytest.fixture(scope="module")
def bucket(srv):  # noqa: F811
    _, c = make_bucket(srv, "load-smoke")
    return "load-smoke", c["access_key_id"], c["secret_access_key"]


def run_load(srv, bucket, tmp_path, *args):
    if not os.access(LOAD_BIN, os.X_OK):
        pytest.fail(f"load generator not built: {LOAD_BIN} (set MAMUTE_LOAD_BIN)")
    name, ak, sk = bucket
    out = tmp_path / "result.json"
    cmd = [LOAD_BIN, "--endpoint", f"http://127.0.0.1:{srv.s3_port}", "--bucket", name,
           "--access-key", ak, "--secret-key", sk, "--json", str(out), "--no-progress",
           "--concurrency", "4", "--duration", "1.5s", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("args", [
    ["--op", "put", "--size", "4KiB", "--prefix", "put-signed/"],
    ["--op", "put", "--size", "100KiB", "--payload", "chunked", "--prefix", "put-chunked/"],
    ["--op", "put", "--size", "0", "--payload", "unsigned", "--prefix", "put-unsigned/"],
    ["--op", "put", "--size", "20KiB", "--presign", "--prefix", "put-presigned/"],
    ["--op", "get", "--size", "4KiB", "--objects", "20", "--prefix", "get/"],
    ["--op", "get", "--size", "64KiB", "--objects", "8", "--presign", "--prefix", "get-presigned/"],
    ["--op", "stat", "--objects", "20", "--prefix", "stat/"],
    ["--op", "mixed", "--size", "8KiB", "--objects", "30", "--prefix", "mixed/"],
    ["--op", "list", "--size", "0", "--objects", "25", "--list-max-keys", "10", "--prefix", "list/"],
])
def test_load_generator_runs_without_errors(srv, bucket, tmp_path, args):
    r = run_load(srv, bucket, tmp_path, *args)
    assert r["ops"] > 0, r
    assert r["errors"] == 0, r["errors_by_code"]
    assert r["latency_ms"]["p50"] > 0
    assert r["latency_ms"]["p99"] >= r["latency_ms"]["p50"]
    op = args[1]
    if op == "mixed":
        assert set(r["per_op"]) <= {"get", "stat", "put", "delete"} and "get" in r["per_op"]
    elif op == "list":
        # 25 objects in pages of 10: every full listing is 3 pages.
        assert r["objects_listed"] >= 25
    else:
        assert list(r["per_op"]) == [op]
    if op in ("get", "put") and "--size" in args and args[args.index("--size") + 1] != "0":
        assert r["mb_per_s"] > 0


def test_delete_stops_when_the_objects_are_gone(srv, bucket, tmp_path):
    r = run_load(srv, bucket, tmp_path, "--op", "delete", "--objects", "30", "--prefix", "del/",
                 "--duration", "30s")
    assert r["ops"] == 30 and r["errors"] == 0, r
    assert r["duration_s"] < 30


def test_multipart_is_reported_not_implemented_or_runs(srv, bucket, tmp_path):
    # The server's multipart support may not be there yet: the generator then reports the
    # 501 NotImplemented by code (what scripts/bench.sh turns into "skipped").
    name, ak, sk = bucket
    out = tmp_path / "mpu.json"
    p = subprocess.run([LOAD_BIN, "--endpoint", f"http://127.0.0.1:{srv.s3_port}", "--bucket", name,
                        "--access-key", ak, "--secret-key", sk, "--json", str(out), "--no-progress",
                        "--concurrency", "2", "--duration", "1s", "--op", "multipart",
                        "--part-size", "5MiB", "--parts", "2", "--prefix", "mpu/"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    r = json.loads(out.read_text())
    if r["errors"]:
        assert set(r["errors_by_code"]) == {"NotImplemented"}, r["errors_by_code"]
    else:
        assert r["uploads_completed"] > 0


def test_anchor_mode_drives_a_plain_url(srv, tmp_path):
    out = tmp_path / "anchor.json"
    p = subprocess.run([LOAD_BIN, "--op", "get", "--anchor-url",
                        f"http://127.0.0.1:{srv.s3_port}/_test/bytes?n=4096", "--json", str(out),
                        "--no-progress", "--concurrency", "2", "--duration", "1s"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    r = json.loads(out.read_text())
    assert r["ops"] > 0 and r["errors"] == 0, r
    assert r["bytes"] == 4096 * r["ops"]


def test_bad_options_exit_2():
    p = subprocess.run([LOAD_BIN, "--op", "frobnicate"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2
    assert "unknown --op" in p.stderr
