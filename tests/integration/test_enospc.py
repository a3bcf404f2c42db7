"""ENOSPC through S3 (issue #3): the data dir on a small tmpfs. A PUT that does not fit answers
507 InsufficientStorage and leaves nothing behind (no temp file, no record, no data file); the
server keeps serving what it has; once objects are deleted (and their unlink grace has passed)
PUTs work again. Needs root to mount the tmpfs; skipped otherwise."""
import os
import subprocess
import time

import botocore
import pytest

from conftest import FAST_OPTIONS, MAMUTE_BIN, MamuteServer
from test_s3_auth import API_KEY, client, make_bucket

OBJECT = 2 << 20  # 2 MiB: eight 256 KiB chunk writes


def mounted_tmpfs(tmp_path, name, size):
    """A tmpfs of `size` at tmp_path/name for the duration of the test (a generator fixture body)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / name
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.decode(errors='replace')}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def small_fs(tmp_path):
    yield from mounted_tmpfs(tmp_path, "small", "24m")


def start_on(tmp_path, fs, bucket, **options):
    """A one-shard server whose data dir is on `fs`, with `bucket` made; (server, S3 client)."""
    (tmp_path / "srv").mkdir()
    # A 10 s body timeout: 2 MiB bodies from boto3 on a loaded CI machine must not hit 408.
    srv = MamuteServer(tmp_path / "srv", {**FAST_OPTIONS, "body-timeout-ms": 10000, "data-cores": 1,
                                          "pin-threads": False, **options})
    srv.data_dir = fs / "data"
    os.environ["MAMUTE_API_KEY"] = API_KEY
    try:
        srv.start()
    finally:
        del os.environ["MAMUTE_API_KEY"]
    try:
        _, cred = make_bucket(srv, bucket)
    except BaseException:
        srv.stop()
        raise
    return srv, client(srv, cred["access_key_id"], cred["secret_access_key"])


def status_of(e):
    return e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def test_put_that_does_not_fit_is_507_and_leaves_nothing(tmp_path, small_fs):
    srv, s3 = start_on(tmp_path, small_fs, "full")
    try:
        stored = {}
        failed = None
        for i in range(64):
            data = os.urandom(OBJECT)
            try:
                s3.put_object(Bucket="full", Key=f"o{i}", Body=data)
                stored[f"o{i}"] = data
            except botocore.exceptions.ClientError as e:
                assert status_of(e) == 507, e.response
                assert e.response["Error"]["Code"] == "InsufficientStorage", e.response
                failed = f"o{i}"
                break
        assert failed is not None, "a 24 MiB tmpfs never filled up"
        assert len(stored) >= 4

        # Nothing partial: no temp file, no record.
        assert list((srv.data_dir / "tmp").iterdir()) == []
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            s3.head_object(Bucket="full", Key=failed)
        assert status_of(ei.value) == 404

        # Still serving what it has, and small (inline) objects still fit in the metadata.
        for k, d in stored.items():
            assert s3.get_object(Bucket="full", Key=k)["Body"].read() == d
        s3.put_object(Bucket="full", Key="tiny", Body=b"still here")
        assert s3.get_object(Bucket="full", Key="tiny")["Body"].read() == b"still here"

        # Free space: delete some objects; their files go after the unlink grace (10 s).
        for k in list(stored)[:4]:
            s3.delete_object(Bucket="full", Key=k)
            del stored[k]
        data = os.urandom(OBJECT)
        deadline = time.monotonic() + 30
        while True:
            try:
                s3.put_object(Bucket="full", Key=failed, Body=data)
                break
            except botocore.exceptions.ClientError as e:
                assert status_of(e) == 507, e.response
                assert time.monotonic() < deadline, "PUTs never worked again after the deletes"
                time.sleep(0.5)
        assert s3.get_object(Bucket="full", Key=failed)["Body"].read() == data
        assert list((srv.data_dir / "tmp").iterdir()) == []
    finally:
        assert srv.stop() == 0, srv.stderr_tail()

    # Offline: every data file has its record and every record its file.
    r = subprocess.run([MAMUTE_BIN, "fsck", "--data-dir", str(srv.data_dir)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "clean" in r.stdout, r.stdout + r.stderr


@pytest.fixture
def tiny_fs(tmp_path):
    yield from mounted_tmpfs(tmp_path, "tiny", "16m")


def test_direct_io_put_that_does_not_fit_is_507_before_its_body(tmp_path, tiny_fs):
    """--direct-io: a large PUT preallocates its declared size, so one that cannot fit is 507 with
    nothing left behind; one that fits (ending mid-block) reads back byte-exact."""
    srv, s3 = start_on(tmp_path, tiny_fs, "direct", **{"direct-io": True})
    try:
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            s3.put_object(Bucket="direct", Key="huge", Body=os.urandom(24 << 20))
        assert status_of(ei.value) == 507, ei.value.response
        assert list((srv.data_dir / "tmp").iterdir()) == []
        data = os.urandom((3 << 20) + 1001)
        s3.put_object(Bucket="direct", Key="fits", Body=data)
        assert s3.get_object(Bucket="direct", Key="fits")["Body"].read() == data
        assert s3.get_object(Bucket="direct", Key="fits", Range="bytes=-1500")["Body"].read() == data[-1500:]
        assert list((srv.data_dir / "tmp").iterdir()) == []
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
