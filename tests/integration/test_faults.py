"""Fault injection (issue 8): a disk whose writes, fsyncs, renames or directory syncs fail, ENOSPC
in the middle of a multipart upload, a failed metadata (RocksDB) write, and clients that vanish in
the middle of an upload or a download. Each gives the client a clean error, never acknowledges
data that is not durable, keeps the key's old version readable and leaves the store consistent
(no temp file, fsck clean).

The failures come from the server's own fault hook (MAMUTE_FAULTS, core/fault.h): a matching ring
operation is turned into a NOP that completes with -errno, as a failing disk would answer it
(docs/testing.md, "Fault injection"). Skipped when the binary was built without it (release)."""
import hashlib
import os
import socket
import subprocess
import time

import boto3
import botocore
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from conftest import FAST_OPTIONS, MAMUTE_BIN, MamuteServer
from test_s3_auth import API_KEY, api, make_bucket
from test_s3_post_policy import post

B = "faults"
SIZE = 100 * 1024  # a data file (> 16 KiB inline), written in one chunk write (< 256 KiB)

# One rule per failure, each matching its own key; `after=1`: the key's first PUT succeeds (the
# old version), its second fails once, its third succeeds again.
FAULTS = ";".join([
    "op=write,match=k-write,after=1,count=1,errno=EIO",
    "op=sync,match=k-sync,after=1,count=1,errno=EIO",
    "op=rename,match=k-rename,after=1,count=1,errno=EIO",
    "op=dirsync,match=k-dirsync,after=1,count=1,errno=EIO",
    "op=open,match=k-open,after=1,count=1,errno=EIO",
    # A PUT opens 1 to 3 directories (more when it creates objects/xx/yy): the old version of
    # this key is inline (no file, no directory), so the first file-backed PUT is the one to fail.
    "op=diropen,match=k-diropen,after=0,count=1,errno=EIO",
    "op=write,match=k-nospace,after=1,count=1,errno=ENOSPC",
    "op=sync,match=k-syncnospace,after=1,count=1,errno=ENOSPC",
    # UploadPart's subject is "<upload id>/<part number>": part 7 of any upload, twice.
    "op=write,match=/7,after=0,count=2,errno=ENOSPC",
    "op=read,match=objects/,after=0,count=0,errno=EIO",  # only while reads are armed below
])


def client(srv, ak, sk):
    """boto3 without retries: a 500 must reach the test, not be retried into a success."""
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{srv.s3_port}", aws_access_key_id=ak,
                        aws_secret_access_key=sk, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                                      signature_version="s3v4"))


def fault_injection_built():
    r = subprocess.run([MAMUTE_BIN, "--help"], capture_output=True, text=True, timeout=10)
    return "MAMUTE_FAULTS" in r.stdout


def launch(srv, **env):
    """srv.start() with extra environment variables (set only for the start)."""
    os.environ.update(env)
    try:
        return srv.start()
    finally:
        for k in env:
            del os.environ[k]


def start(workdir, faults, **options):
    if not fault_injection_built():
        pytest.skip("this mamute build has no fault injection (-Dfault_injection)")
    srv = MamuteServer(workdir, {**FAST_OPTIONS, "data-cores": 1, "pin-threads": False,
                                 "body-timeout-ms": 10000, **options})
    return launch(srv, MAMUTE_API_KEY=API_KEY, MAMUTE_FAULTS=faults)


@pytest.fixture(scope="module")
def fsrv(tmp_path_factory):
    # The read rule would fail every GET: it is never armed here (see test_read_failure).
    srv = start(tmp_path_factory.mktemp("faults"), FAULTS.rsplit(";", 1)[0],
                **{"multipart-min-part-size": 1024})
    _, c = make_bucket(srv, B)
    yield srv, client(srv, c["access_key_id"], c["secret_access_key"]), c
    assert srv.stop() == 0, srv.stderr_tail()
    # Offline: every record has its data file and every data file its record.
    r = subprocess.run([MAMUTE_BIN, "fsck", "--data-dir", str(srv.data_dir)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "clean" in r.stdout, r.stdout + r.stderr


def status_of(e):
    return e.response["ResponseMetadata"]["HTTPStatusCode"]


def tmp_files(srv):
    return sorted(p.name for p in (srv.data_dir / "tmp").iterdir())


def data_files(srv):
    return {p.name for p in (srv.data_dir / "objects").rglob("*") if p.is_file()}


@pytest.mark.parametrize("key,status,code,old_size", [
    ("k-write", 500, "InternalError", SIZE),
    ("k-sync", 500, "InternalError", SIZE),
    ("k-rename", 500, "InternalError", SIZE),
    ("k-dirsync", 500, "InternalError", SIZE),
    ("k-open", 500, "InternalError", SIZE),
    ("k-diropen", 500, "InternalError", 100),
    ("k-nospace", 507, "InsufficientStorage", SIZE),
    ("k-syncnospace", 507, "InsufficientStorage", SIZE),
])
def test_failed_disk_operation_never_acks_and_keeps_the_old_version(fsrv, key, status, code, old_size):
    srv, s3, _ = fsrv
    old, new, again = os.urandom(old_size), os.urandom(SIZE), os.urandom(SIZE)
    s3.put_object(Bucket=B, Key=key, Body=old)
    files = data_files(srv)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_object(Bucket=B, Key=key, Body=new)
    assert status_of(ei.value) == status and ei.value.response["Error"]["Code"] == code, ei.value.response
    assert b"InjectedFault" not in str(ei.value.response).encode()
    # Not acknowledged, not stored: the old version is what GET and HEAD see, whole.
    got = s3.get_object(Bucket=B, Key=key)
    assert got["Body"].read() == old
    assert got["ETag"] == '"%s"' % hashlib.md5(old).hexdigest()
    # Nothing of the failed PUT left: no temp file, no new data file (the dirsync case had
    # already renamed its file: it is removed too).
    assert tmp_files(srv) == []
    assert data_files(srv) == files
    # The disk "recovers" (count=1): the next PUT works and replaces the old version.
    s3.put_object(Bucket=B, Key=key, Body=again)
    assert s3.get_object(Bucket=B, Key=key)["Body"].read() == again


def test_enospc_mid_multipart_is_507_and_the_upload_stays_usable(fsrv):
    srv, s3, _ = fsrv
    key = "mpu-nospace"
    # The last part is one chunk write (< 256 KiB), so each attempt meets the rule once.
    parts = [os.urandom(300 * 1024), os.urandom(300 * 1024), os.urandom(200 * 1024)]
    up = s3.create_multipart_upload(Bucket=B, Key=key)["UploadId"]
    done = []
    for n, p in zip((1, 2), parts):
        r = s3.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=n, Body=p)
        done.append({"PartNumber": n, "ETag": r["ETag"]})
    # Part 7's first write meets ENOSPC, twice: 507 InsufficientStorage each time.
    for _ in range(2):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            s3.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=7, Body=parts[2])
        assert status_of(ei.value) == 507, ei.value.response
        assert ei.value.response["Error"]["Code"] == "InsufficientStorage"
    assert tmp_files(srv) == []
    # The upload is intact: parts 1 and 2 listed, part 7 absent.
    listed = s3.list_parts(Bucket=B, Key=key, UploadId=up)["Parts"]
    assert [p["PartNumber"] for p in listed] == [1, 2]
    # Space is back: part 7 goes in, the upload completes with all three parts.
    r = s3.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=7, Body=parts[2])
    done.append({"PartNumber": 7, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket=B, Key=key, UploadId=up, MultipartUpload={"Parts": done})
    assert s3.get_object(Bucket=B, Key=key)["Body"].read() == b"".join(parts)

    # A second upload that meets ENOSPC can be aborted: nothing of it stays.
    before = data_files(srv)
    up2 = s3.create_multipart_upload(Bucket=B, Key=key + "-2")["UploadId"]
    s3.upload_part(Bucket=B, Key=key + "-2", UploadId=up2, PartNumber=1, Body=parts[0])
    s3.abort_multipart_upload(Bucket=B, Key=key + "-2", UploadId=up2)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.list_parts(Bucket=B, Key=key + "-2", UploadId=up2)
    assert ei.value.response["Error"]["Code"] == "NoSuchUpload"
    deadline = time.monotonic() + 20  # the aborted part's file goes after the unlink grace
    while data_files(srv) - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not (data_files(srv) - before)


def test_metadata_write_failure_fails_the_put_cleanly(tmp_path):
    """The synced RocksDB write of the commit fails: 500, the old version stays, no temp file.
    The new data file was already renamed into objects/ before the commit; a failed WAL write is
    ambiguous (the record may still be replayed from the WAL after a crash), so it is not
    unlinked at once: start-up recovery removes it once the record is known to be absent."""
    (tmp_path / "srv").mkdir()
    srv = start(tmp_path / "srv", "op=meta,match=k-meta,after=1,count=1,errno=EIO")
    try:
        _, c = make_bucket(srv, B)
        s3 = client(srv, c["access_key_id"], c["secret_access_key"])
        key = "k-meta"
        old = os.urandom(SIZE)
        s3.put_object(Bucket=B, Key=key, Body=old)
        files = data_files(srv)
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            s3.put_object(Bucket=B, Key=key, Body=os.urandom(SIZE))
        assert status_of(ei.value) == 500, ei.value.response
        assert ei.value.response["Error"]["Code"] == "InternalError"
        assert s3.get_object(Bucket=B, Key=key)["Body"].read() == old
        assert tmp_files(srv) == []
        orphans = data_files(srv) - files
        assert len(orphans) <= 1
        # The metadata store keeps working: the next commit of the same key succeeds.
        new = os.urandom(SIZE)
        s3.put_object(Bucket=B, Key=key, Body=new)
        assert s3.get_object(Bucket=B, Key=key)["Body"].read() == new
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
    # A restart's recovery removes the orphan; then fsck is clean and the new version is there.
    srv.returncode = None
    launch(srv, MAMUTE_API_KEY=API_KEY)
    try:
        assert not (orphans & data_files(srv))
        s3 = client(srv, c["access_key_id"], c["secret_access_key"])
        assert s3.get_object(Bucket=B, Key=key)["Body"].read() == new
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
    r = subprocess.run([MAMUTE_BIN, "fsck", "--data-dir", str(srv.data_dir)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "clean" in r.stdout, r.stdout + r.stderr


# ---------------------------------------------------------------- vanishing clients

def unsigned_headers(srv, c, method, path, length):
    """SigV4 headers for a request whose body is UNSIGNED-PAYLOAD (sent raw afterwards)."""
    req = AWSRequest(method=method, url=f"http://127.0.0.1:{srv.s3_port}{path}", data=b"",
                     headers={"Content-Length": str(length)})
    req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    S3SigV4Auth(Credentials(c["access_key_id"], c["secret_access_key"]), "s3", "us-east-1").add_auth(req)
    assert req.headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    return dict(req.headers.items())


def raw_head(srv, method, path, headers):
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{srv.s3_port}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def open_fds(srv):
    return len(os.listdir(f"/proc/{srv.proc.pid}/fd"))


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def test_client_vanishing_mid_upload_leaves_nothing(fsrv):
    srv, s3, c = fsrv
    size = 8 << 20
    s3.put_object(Bucket=B, Key="vanish-up", Body=b"old version")
    fds0, conns0 = open_fds(srv), srv.metric("mamute_http_open_connections")  # boto3 keeps its own
    for key in ("vanish-up", "vanish-new"):
        h = unsigned_headers(srv, c, "PUT", f"/{B}/{key}", size)
        s = socket.create_connection(("127.0.0.1", srv.s3_port), timeout=10)
        s.sendall(raw_head(srv, "PUT", f"/{B}/{key}", h))
        chunk = os.urandom(1 << 20)
        for _ in range(4):  # half the body, then the client is gone
            s.sendall(chunk)
        # Accepted and being written: the temp file is there (nothing was answered yet).
        assert wait_for(lambda: tmp_files(srv) != [], timeout=5), "the upload never reached the disk"
        s.settimeout(0.2)
        with pytest.raises(socket.timeout):
            s.recv(1)
        s.close()
    # The connections are reaped, the writers aborted: no temp file, no fd left, no object.
    assert wait_for(lambda: tmp_files(srv) == [] and srv.metric("mamute_http_open_connections") <= conns0)
    assert wait_for(lambda: open_fds(srv) <= fds0), (open_fds(srv), fds0)
    assert s3.get_object(Bucket=B, Key="vanish-up")["Body"].read() == b"old version"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.head_object(Bucket=B, Key="vanish-new")
    assert status_of(ei.value) == 404


def test_client_vanishing_mid_download_is_harmless(fsrv):
    srv, s3, c = fsrv
    body = os.urandom(16 << 20)
    s3.put_object(Bucket=B, Key="vanish-down", Body=body)
    fds0, conns0 = open_fds(srv), srv.metric("mamute_http_open_connections")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "vanish-down"})
    path = url.split(str(srv.s3_port), 1)[1]
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", srv.s3_port), timeout=10)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{srv.s3_port}\r\n\r\n".encode())
        got = s.recv(256 * 1024)
        assert got.startswith(b"HTTP/1.1 200")
        s.close()  # with most of 16 MiB unread
    assert wait_for(lambda: srv.metric("mamute_http_open_connections") <= conns0)
    assert wait_for(lambda: open_fds(srv) <= fds0), (open_fds(srv), fds0)
    # Still serving, whole and verified.
    assert s3.get_object(Bucket=B, Key="vanish-down")["Body"].read() == body


def test_read_failure_aborts_the_get(tmp_path):
    """Every data-file read fails (EIO): a GET of a file-backed object is a 500 before any byte
    (or a cut connection once streaming), never wrong data; inline objects still read."""
    (tmp_path / "srv").mkdir()
    srv = start(tmp_path / "srv", FAULTS.rsplit(";", 1)[1])
    try:
        _, c = make_bucket(srv, B)
        s3 = client(srv, c["access_key_id"], c["secret_access_key"])
        s3.put_object(Bucket=B, Key="small", Body=b"inline")
        s3.put_object(Bucket=B, Key="big", Body=os.urandom(SIZE))
        assert s3.get_object(Bucket=B, Key="small")["Body"].read() == b"inline"
        with pytest.raises((botocore.exceptions.ClientError, botocore.exceptions.ResponseStreamingError,
                            botocore.exceptions.IncompleteReadError)) as ei:
            s3.get_object(Bucket=B, Key="big")["Body"].read()
        if isinstance(ei.value, botocore.exceptions.ClientError):
            assert status_of(ei.value) == 500
        assert s3.get_object(Bucket=B, Key="small")["Body"].read() == b"inline"
    finally:
        assert srv.stop() == 0, srv.stderr_tail()


# ---------------------------------------------------------------- RocksDB's own WAL failing

def fsck_clean(srv):
    r = subprocess.run([MAMUTE_BIN, "fsck", "--data-dir", str(srv.data_dir)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "clean" in r.stdout, r.stdout + r.stderr


def store_metric(srv, name):
    return srv.metrics().get((name, frozenset()))


@pytest.mark.parametrize("errno,status,code", [("EIO", 500, "InternalError"),
                                               ("ENOSPC", 507, "InsufficientStorage")])
def test_rocksdb_wal_failure(tmp_path, errno, status, code):
    """RocksDB itself fails to sync its WAL during a commit (a FileSystem wrapper under RocksDB,
    store/fault_fs.h): the PUT gets a clean S3 error, nothing of it is visible, earlier objects
    stay readable. RocksDB then stops writes: after EIO (fatal in RocksDB) every write answers
    503 until a restart, with a log line and the mamute_store_meta_read_only gauge; after ENOSPC
    (a hard error) RocksDB recovers (DB::Resume) and writes work again without a restart."""
    (tmp_path / "srv").mkdir()
    srv = start(tmp_path / "srv", f"op=walsync,match=k-wal,after=0,count=1,errno={errno}")
    try:
        _, c = make_bucket(srv, B)
        s3 = client(srv, c["access_key_id"], c["secret_access_key"])
        keep, small = os.urandom(SIZE), b"inline"
        s3.put_object(Bucket=B, Key="keep", Body=keep)
        s3.put_object(Bucket=B, Key="keep-small", Body=small)
        files = data_files(srv)
        assert store_metric(srv, "mamute_store_meta_read_only") == 0
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            s3.put_object(Bucket=B, Key="k-wal", Body=os.urandom(SIZE))
        assert status_of(ei.value) == status, ei.value.response
        assert ei.value.response["Error"]["Code"] == code
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            s3.head_object(Bucket=B, Key="k-wal")
        assert status_of(ei.value) == 404
        assert s3.get_object(Bucket=B, Key="keep")["Body"].read() == keep
        assert s3.get_object(Bucket=B, Key="keep-small")["Body"].read() == small
        assert tmp_files(srv) == []
        assert store_metric(srv, "mamute_store_meta_background_errors_total") >= 1
        if errno == "EIO":
            # Read-only until a restart: writes are refused with a clear 503, reads go on.
            assert store_metric(srv, "mamute_store_meta_read_only") == 2
            for attempt in (lambda: s3.put_object(Bucket=B, Key="later", Body=os.urandom(SIZE)),
                            lambda: s3.delete_object(Bucket=B, Key="keep")):
                with pytest.raises(botocore.exceptions.ClientError) as ei:
                    attempt()
                assert status_of(ei.value) == 503, ei.value.response
                assert ei.value.response["Error"]["Code"] == "ServiceUnavailable"
                assert "read-only" in ei.value.response["Error"]["Message"]
            # A browser (POST policy) upload is refused the same way as a PUT.
            p = s3.generate_presigned_post(B, "later-post", ExpiresIn=300)
            st, body, _ = post(srv, B, p["fields"], os.urandom(SIZE), filename="f.bin")
            assert st == 503 and b"<Code>ServiceUnavailable</Code>" in body and b"read-only" in body, body
            assert s3.get_object(Bucket=B, Key="keep")["Body"].read() == keep
            assert "metadata store is read-only" in srv.stderr_tail(200)
            # The failed PUT's renamed file may stay (its WAL record may be replayed); the
            # refused one's is removed at once.
            assert len(data_files(srv) - files) <= 1
        else:
            # RocksDB recovers a hard error by itself (or the commit thread's DB::Resume does).
            assert wait_for(lambda: store_metric(srv, "mamute_store_meta_read_only") == 0, 10)
            assert store_metric(srv, "mamute_store_meta_recoveries_total") >= 1
            s3.put_object(Bucket=B, Key="later", Body=b"after recovery")
            assert s3.get_object(Bucket=B, Key="later")["Body"].read() == b"after recovery"
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
    # A restart recovers (EIO) and keeps everything acknowledged; a failed sync may surface its
    # record whole (with its kept data file), never in part; start-up recovery leaves fsck clean.
    srv.returncode = None
    launch(srv, MAMUTE_API_KEY=API_KEY)
    try:
        s3 = client(srv, c["access_key_id"], c["secret_access_key"])
        assert s3.get_object(Bucket=B, Key="keep")["Body"].read() == keep
        try:
            assert s3.get_object(Bucket=B, Key="k-wal")["ContentLength"] == SIZE
        except botocore.exceptions.ClientError as e:
            assert status_of(e) == 404
        s3.put_object(Bucket=B, Key="after-restart", Body=b"x")
        assert store_metric(srv, "mamute_store_meta_read_only") == 0
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
    fsck_clean(srv)


# ---------------------------------------------------------------- bucket deletion races

def test_interrupted_bucket_purge_is_reclaimed_by_recovery(tmp_path):
    """A force delete whose purge stops half-way (its chunk commit fails) leaves records of a
    bucket that no longer exists, and their data files. Start-up recovery finds them (no bucket
    record), deletes the records and then the files; fsck is clean and another bucket is intact."""
    (tmp_path / "srv").mkdir()
    # Three PUTs commit keys containing "doomed-"; the fourth matching commit is the purge's.
    srv = start(tmp_path / "srv", "op=meta,match=doomed-,after=3,count=1,errno=EIO", **{"unlink-grace-ms": 100})
    try:
        keep_b, kc = make_bucket(srv, "purge-keep")
        s3k = client(srv, kc["access_key_id"], kc["secret_access_key"])
        s3k.put_object(Bucket="purge-keep", Key="stays", Body=os.urandom(SIZE))
        before = data_files(srv)
        doomed, dc = make_bucket(srv, "purge-doomed")
        s3 = client(srv, dc["access_key_id"], dc["secret_access_key"])
        for n in range(3):
            s3.put_object(Bucket="purge-doomed", Key=f"doomed-{n}", Body=os.urandom(SIZE))
        up = s3.create_multipart_upload(Bucket="purge-doomed", Key="open")
        s3.upload_part(Bucket="purge-doomed", Key="open", UploadId=up["UploadId"], PartNumber=1,
                       Body=os.urandom(SIZE))
        assert len(data_files(srv)) == len(before) + 4
        st, _ = api(srv, "DELETE", f"/storage/object-storage/buckets/{doomed['id']}?force=true")
        assert st == 500  # the purge stopped at its first chunk; the bucket itself is gone
        st, _ = api(srv, "GET", f"/storage/object-storage/buckets/{doomed['id']}")
        assert st == 404
        assert len(data_files(srv)) == len(before) + 4  # nothing purged
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
    # Offline fsck reports the dead bucket (not clean) ...
    r = subprocess.run([MAMUTE_BIN, "fsck", "--data-dir", str(srv.data_dir)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and "deleted bucket" in r.stdout, r.stdout + r.stderr
    # ... and the next start reclaims it.
    srv.returncode = None
    launch(srv, MAMUTE_API_KEY=API_KEY)
    try:
        assert data_files(srv) == before
        assert "of 1 deleted bucket(s)" in srv.stderr_tail(200)
        s3k = client(srv, kc["access_key_id"], kc["secret_access_key"])  # the new start's port
        assert s3k.get_object(Bucket="purge-keep", Key="stays")["ContentLength"] == SIZE
        again, ac = make_bucket(srv, "purge-doomed")
        s3 = client(srv, ac["access_key_id"], ac["secret_access_key"])
        assert s3.list_objects_v2(Bucket="purge-doomed")["KeyCount"] == 0
        assert s3.list_multipart_uploads(Bucket="purge-doomed").get("Uploads", []) == []
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
    fsck_clean(srv)


def test_put_whose_bucket_is_deleted_mid_body_gets_no_such_bucket(tmp_path):
    """A PUT authorized before its bucket is force-deleted, whose body ends after the purge: the
    commit checks that the bucket still exists (in commit order) and refuses it with 404
    NoSuchBucket; no record and no data file of it remain."""
    (tmp_path / "srv").mkdir()
    srv = MamuteServer(tmp_path / "srv", {**FAST_OPTIONS, "data-cores": 1, "pin-threads": False,
                                          "body-timeout-ms": 10000, "unlink-grace-ms": 100})
    launch(srv, MAMUTE_API_KEY=API_KEY)
    try:
        b, c = make_bucket(srv, "gone-mid-put")
        body = os.urandom(SIZE)
        path = "/gone-mid-put/late"
        sock = socket.create_connection(("127.0.0.1", srv.s3_port), timeout=10)
        try:
            sock.sendall(raw_head(srv, "PUT", path, unsigned_headers(srv, c, "PUT", path, len(body))))
            sock.sendall(body[:SIZE // 2])
            time.sleep(0.2)  # the head is authorized and half the body streamed to the temp file
            st, _ = api(srv, "DELETE", f"/storage/object-storage/buckets/{b['id']}?force=true")
            assert st == 204
            sock.sendall(body[SIZE // 2:])
            resp = b""
            while b"</Error>" not in resp and not resp.startswith(b"HTTP/1.1 200"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                resp += chunk
        finally:
            sock.close()
        assert resp.startswith(b"HTTP/1.1 404"), resp[:300]
        assert b"<Code>NoSuchBucket</Code>" in resp, resp
        assert wait_for(lambda: data_files(srv) == set() and tmp_files(srv) == [], 5)
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
    fsck_clean(srv)
