"""Several data dirs (issue #3): --data-dir repeated, one per disk. New objects spread over the
dirs, reads and deletes find them in either, `mamute fsck` checks every dir, and a start with
the dirs reordered or one dropped is refused with a clear error."""
import os
import subprocess

import pytest

from conftest import FAST_OPTIONS, MAMUTE_BIN, MamuteServer
from test_s3_auth import API_KEY, client, make_bucket


def start(workdir, dirs):
    workdir.mkdir(exist_ok=True)
    srv = MamuteServer(workdir, {**FAST_OPTIONS, "data-cores": 1, "pin-threads": False,
                                 "data-dir": [str(d) for d in dirs[1:]]})
    srv.data_dir = dirs[0]  # the fixture's own --data-dir comes first
    os.environ["MAMUTE_API_KEY"] = API_KEY
    try:
        return srv.start()
    finally:
        del os.environ["MAMUTE_API_KEY"]


def run_refused(dirs):
    args = [MAMUTE_BIN]
    for d in dirs:
        args += ["--data-dir", str(d)]
    return subprocess.run(args + ["--s3-listen=127.0.0.1:1", "--api-listen=127.0.0.1:1"], capture_output=True,
                          text=True, timeout=30)


def fsck(dirs, *extra):
    args = [MAMUTE_BIN, "fsck"]
    for d in dirs:
        args += ["--data-dir", str(d)]
    return subprocess.run(args + list(extra), capture_output=True, text=True, timeout=60)


def files_in(d):
    return sorted(p for p in (d / "objects").rglob("*") if p.is_file())


def test_objects_spread_over_data_dirs_and_changes_are_refused(tmp_path):
    dirs = [tmp_path / "disk0", tmp_path / "disk1", tmp_path / "disk2"]
    srv = start(tmp_path / "s1", dirs)
    try:
        _, cred = make_bucket(srv, "spread")
        s3 = client(srv, cred["access_key_id"], cred["secret_access_key"])
        bodies = {f"k{i}": os.urandom(20 * 1024 + i) for i in range(60)}
        for k, b in bodies.items():
            s3.put_object(Bucket="spread", Key=k, Body=b)
        counts = [len(files_in(d)) for d in dirs]
        assert sum(counts) == 60 and all(c > 0 for c in counts), counts
        for k, b in bodies.items():
            assert s3.get_object(Bucket="spread", Key=k)["Body"].read() == b
        for i in range(0, 60, 2):
            s3.delete_object(Bucket="spread", Key=f"k{i}")
            del bodies[f"k{i}"]
    finally:
        assert srv.stop() == 0, srv.stderr_tail()  # a stop unlinks what waits for its grace

    assert sum(len(files_in(d)) for d in dirs) == 30
    for d in dirs:
        assert (d / "mamute-dir").exists()
    r = fsck(dirs)
    assert r.returncode == 0 and "clean" in r.stdout and "data files seen: 30" in r.stdout, r.stdout + r.stderr
    # An orphan in the last dir is found there (fsck covers every dir).
    orphan = dirs[2] / "objects" / "ab" / "cd" / ("abcd" + "0" * 28)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"x")
    r = fsck(dirs)
    assert r.returncode == 1 and str(orphan) in r.stdout, r.stdout

    # Reordered, dropped, or the first dir missing: refused before anything is touched.
    for bad, what in (([dirs[0], dirs[2], dirs[1]], "order of the data dirs changed"),
                      ([dirs[1], dirs[0], dirs[2]], "order of the data dirs changed"),
                      ([dirs[0], dirs[1]], "data dir #2 is missing"),
                      ([dirs[0], dirs[2]], "order of the data dirs changed")):
        r = run_refused(bad)
        assert r.returncode == 1 and what in r.stderr, (bad, r.stderr)
        r = fsck(bad)
        assert r.returncode == 2 and what in r.stderr, (bad, r.stderr)
    assert not (dirs[1] / "meta").exists()

    # The right order again: recovery removes the orphan, every object is readable.
    srv = start(tmp_path / "s2", dirs)
    try:
        assert not orphan.exists()
        s3 = client(srv, cred["access_key_id"], cred["secret_access_key"])
        for k, b in bodies.items():
            assert s3.get_object(Bucket="spread", Key=k)["Body"].read() == b
    finally:
        assert srv.stop() == 0, srv.stderr_tail()

    # A new dir appended at the end is adopted.
    dirs.append(tmp_path / "disk3")
    srv = start(tmp_path / "s3", dirs)
    try:
        s3 = client(srv, cred["access_key_id"], cred["secret_access_key"])
        for k, b in bodies.items():
            assert s3.get_object(Bucket="spread", Key=k)["Body"].read() == b
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
    assert (dirs[3] / "mamute-dir").exists()
    assert fsck(dirs).returncode == 0


def test_help_documents_repeatable_data_dir():
    out = subprocess.run([MAMUTE_BIN, "--help"], capture_output=True, text=True, timeout=10).stdout
    assert "--data-dir" in out and "repeatable" in out
    out = subprocess.run([MAMUTE_BIN, "fsck", "--help"], capture_output=True, text=True, timeout=10).stdout
    assert "--data-dir DIR]..." in out


def test_enospc_on_one_dir_sends_the_next_puts_to_another(tmp_path):
    """Every write to data dir #1 fails with ENOSPC (fault injection: the subject of a PUT's file
    operations ends with "@dir<N>"). The first PUT placed there streams its body, cannot be
    replayed and answers 507; the dir is then held out of placement (refreshes of its free space
    included), so every later PUT lands on dir #0 and succeeds — also the failed key retried."""
    import time

    import botocore

    from test_faults import fault_injection_built
    if not fault_injection_built():
        pytest.skip("this mamute build has no fault injection (-Dfault_injection)")
    dirs = [tmp_path / "disk0", tmp_path / "disk1"]
    os.environ["MAMUTE_FAULTS"] = "op=write,match=@dir1,after=0,count=0,errno=ENOSPC"
    try:
        srv = start(tmp_path / "s1", dirs)
    finally:
        del os.environ["MAMUTE_FAULTS"]
    try:
        _, cred = make_bucket(srv, "onefull")
        s3 = client(srv, cred["access_key_id"], cred["secret_access_key"])
        failed, stored = [], {}
        for i in range(40):
            if i == 20:
                time.sleep(1.2)  # placement re-reads free space (statvfs) every second
            body = os.urandom(64 * 1024 + i)
            try:
                s3.put_object(Bucket="onefull", Key=f"k{i}", Body=body)
                stored[f"k{i}"] = body
            except botocore.exceptions.ClientError as e:
                assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 507, e.response
                assert e.response["Error"]["Code"] == "InsufficientStorage"
                failed.append(f"k{i}")
        # Half the keys hash to dir #1 while it has weight: the first of them fails, none after.
        assert len(failed) == 1, failed
        assert files_in(dirs[1]) == [] and len(files_in(dirs[0])) == len(stored) == 39
        assert list((dirs[1] / "tmp").iterdir()) == []
        body = os.urandom(1000 * 100)
        s3.put_object(Bucket="onefull", Key=failed[0], Body=body)
        assert s3.get_object(Bucket="onefull", Key=failed[0])["Body"].read() == body
        for k, b in stored.items():
            assert s3.get_object(Bucket="onefull", Key=k)["Body"].read() == b
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
    r = fsck(dirs)
    assert r.returncode == 0 and "clean" in r.stdout, r.stdout + r.stderr
