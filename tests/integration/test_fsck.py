"""Store recovery: `mamute fsck` offline, and the start-up scan that removes leftovers of
interrupted PUTs while every acknowledged object stays readable."""
import os
import subprocess
from pathlib import Path

import pytest

from test_s3_auth import MamuteServer, FAST_OPTIONS, API_KEY, api, client, make_bucket  # noqa: F401
from conftest import MAMUTE_BIN


def start(workdir):
    os.environ["MAMUTE_API_KEY"] = API_KEY
    try:
        return MamuteServer(workdir, {**FAST_OPTIONS, "data-cores": 1, "pin-threads": False}).start()
    finally:
        del os.environ["MAMUTE_API_KEY"]


def fsck(data_dir, *args):
    return subprocess.run([MAMUTE_BIN, "fsck", "--data-dir", str(data_dir), *args], capture_output=True, text=True,
                          timeout=60)


def test_fsck_and_startup_recovery(tmp_path):
    srv = start(tmp_path)
    b, c = make_bucket(srv, "fsck-bucket")
    s3 = client(srv, c["access_key_id"], c["secret_access_key"])
    big = os.urandom(300 * 1024)  # above the inline threshold: a data file
    s3.put_object(Bucket="fsck-bucket", Key="big", Body=big)
    s3.put_object(Bucket="fsck-bucket", Key="small", Body=b"tiny")
    assert srv.stop() == 0
    data = srv.data_dir

    r = fsck(data)
    assert r.returncode == 0 and "clean" in r.stdout, r.stdout + r.stderr

    # Leftovers of a crash: a temp file and a data file no record names.
    (data / "tmp").mkdir(exist_ok=True)
    (data / "tmp" / ("ab" * 16)).write_bytes(b"partial upload")
    orphan_dir = data / "objects" / "ff" / "ee"
    orphan_dir.mkdir(parents=True, exist_ok=True)
    orphan = orphan_dir / ("ffee" + "0" * 28)
    orphan.write_bytes(b"never committed")
    r = fsck(data)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "temp file" in r.stdout and "orphan data file" in r.stdout
    assert orphan.exists()  # report only

    # The start-up scan removes them; acknowledged objects are intact.
    (tmp_path / "restart").mkdir()
    srv3 = MamuteServer(tmp_path / "restart", {**FAST_OPTIONS, "data-cores": 1, "pin-threads": False})
    srv3.data_dir = data
    srv3.start()
    try:
        assert not orphan.exists()
        assert not any((data / "tmp").iterdir())
        s3 = client(srv3, c["access_key_id"], c["secret_access_key"])
        assert s3.get_object(Bucket="fsck-bucket", Key="big")["Body"].read() == big
        assert s3.get_object(Bucket="fsck-bucket", Key="small")["Body"].read() == b"tiny"
    finally:
        assert srv3.stop() == 0
    r = fsck(data)
    assert r.returncode == 0, r.stdout + r.stderr


def test_fsck_refuses_while_the_server_runs(tmp_path):
    srv = start(tmp_path)
    try:
        r = fsck(srv.data_dir)
        assert r.returncode == 2 and "fsck" in r.stderr
    finally:
        assert srv.stop() == 0


def test_fsck_repair(tmp_path):
    srv = start(tmp_path)
    assert srv.stop() == 0
    (srv.data_dir / "tmp").mkdir(exist_ok=True)
    (srv.data_dir / "tmp" / "leftover").write_bytes(b"x")
    r = fsck(srv.data_dir, "--repair")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (srv.data_dir / "tmp" / "leftover").exists()
