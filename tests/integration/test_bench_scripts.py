"""The benchmark scripts' option parsing and report, without running a benchmark.

scripts/bench.sh and scripts/bench-rgw.sh are too heavy for the suite (a release build, Ceph),
so this checks what can break silently: the scripts parse, --help documents --rgw, bad options
exit 2 before anything is installed or started, and bench_report.py turns --rgw results into
the "bench.sh --rgw" section without touching the main section.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


@pytest.mark.parametrize("script", ["bench.sh", "bench-rgw.sh", "bench-lib.sh", "bench-http.sh"])
def test_script_parses(script):
    p = subprocess.run(["bash", "-n", str(SCRIPTS / script)], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr


def test_help_documents_rgw():
    for script, words in (("bench.sh", ["--rgw", "--rgw-only", "--rgw-store"]),
                          ("bench-rgw.sh", ["rgw_start", "--check", "memstore"])):
        p = subprocess.run([str(SCRIPTS / script), "--help"], capture_output=True, text=True, timeout=10)
        assert p.returncode == 0, p.stderr
        for w in words:
            assert w in p.stdout, (script, w)


@pytest.mark.parametrize("args,message", [
    (["--rgw-store", "filestore"], "bluestore or memstore"),
    (["--rgw-store"], "bluestore or memstore"),
    (["--frobnicate"], "unknown option --frobnicate"),
])
def test_bad_options_exit_2_before_doing_anything(args, message):
    p = subprocess.run([str(SCRIPTS / "bench.sh"), *args], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2, p.stdout + p.stderr
    assert message in p.stderr


def result(ops_per_s):
    return {"ops": 100, "errors": 0, "errors_by_code": {}, "ops_per_s": ops_per_s, "mb_per_s": 0.4,
            "concurrency": 64, "latency_ms": {"p50": 1.0, "p90": 2.0, "p99": 3.0, "max": 4.0}}


def test_report_writes_only_the_rgw_section(tmp_path):
    res = tmp_path / "res"
    res.mkdir()
    # mamute 6000 ops/s everywhere; RGW 1000 (6×), except PUT 4 KiB at 2000 (3×) and a mixed
    # run that failed.
    for name in ("get-0", "get-4096", "put-0", "put-4096", "stat-4096", "mixed"):
        (res / f"rgw-m-{name}.json").write_text(json.dumps(result(6000)))
        (res / f"rgw-r-{name}.json").write_text(json.dumps(result(2000 if name == "put-4096" else 1000)))
    (res / "rgw-r-mixed.json").write_text('{"failed": true}')
    (res / "rgw-version").write_text("16.2.15\n")
    (res / "rgw-store").write_text("memstore\n")
    doc = tmp_path / "benchmarks.md"
    original = (ROOT / "docs" / "benchmarks.md").read_text()
    doc.write_text(original)
    env = dict(os.environ, BENCH_RES=str(res), BENCH_OUT=str(doc), BENCH_RGW_ONLY="true",
               BENCH_DURATION="3", BENCH_WORKERS="1", BENCH_COMMIT="abc1234")
    p = subprocess.run(["/usr/bin/python3", str(SCRIPTS / "bench_report.py")], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    text = doc.read_text()
    sec = re.search(r"<!-- bench\.sh --rgw: begin.*?<!-- bench\.sh --rgw: end -->\n", text, re.S)
    assert sec, "no RGW section"
    # Everything outside the RGW section is as it was.
    old = re.search(r"<!-- bench\.sh --rgw: begin.*?<!-- bench\.sh --rgw: end -->\n", original, re.S)
    assert text[:sec.start()] == original[:old.start()]
    assert text[sec.end():] == original[old.end():]
    s = sec.group(0)
    assert re.search(r"\| GET 4 KiB \| 64 \| 6000 \| 1000 \| 6\.00× \| met \|", s), s
    assert re.search(r"\| PUT 4 KiB \| 64 \| 6000 \| 2000 \| 3\.00× \| \*\*not met\*\* \|", s), s
    assert re.search(r"\| mixed [^|]* \| 64 \| 6000 \| run failed \| - \| not measured \|", s), s
    assert "not durable" in s  # memstore is said to be in RAM next to the figures
    assert "Ceph RGW on small objects: **not met** in this run — 4 of 6 workloads" in s, s
