"""Multipart races, with real boto3 clients on threads: UploadPart against AbortMultipartUpload,
UploadPart against CompleteMultipartUpload (a new part and a re-uploaded listed part), and the
expiry sweep against Complete. Whatever the interleaving, the outcome is consistent: a part is
in the completed object or its client got an error (NoSuchUpload / InvalidPart), a completed
object reads back whole (also after a restart), and no part record or part file outlives its
upload — checked by `mamute fsck` on the stopped server, whose shutdown unlinks pending garbage
at once (start-up recovery would remove orphan files and hide them)."""
import hashlib
import os
import subprocess
import threading
import time

import botocore
import http.client
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from test_s3_auth import client, code_of, make_bucket
from test_s3_multipart import B, start

ROUNDS = 5 if os.environ.get("MAMUTE_SANITIZED") else 8


def fsck_clean(srv):
    assert srv.stop() == 0
    r = subprocess.run([srv.args[0], "fsck", "--data-dir", str(srv.data_dir)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip().endswith("clean"), r.stdout + r.stderr


def restart(srv, c):
    srv.returncode = None
    srv.start()
    return client(srv, c["access_key_id"], c["secret_access_key"])


def race(*calls):
    """Runs the calls on threads released together; returns each one's result or ClientError."""
    out = [None] * len(calls)
    gate = threading.Barrier(len(calls))

    def run(i, f):
        gate.wait()
        try:
            out[i] = f()
        except botocore.exceptions.ClientError as e:
            out[i] = e

    ts = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(calls)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return out


def slow_upload_part(srv, c, key, up, number, body, during):
    """UploadPart over a raw socket (signed payload, boto3's signer): the head and half the body
    go out, `during()` runs to completion, then the rest. The part is past its upload lookup and
    streaming while `during` ends the upload: only the commit-time check can refuse it."""
    path = f"/{B}/{key}?partNumber={number}&uploadId={up}"
    req = AWSRequest(method="PUT", url=f"http://127.0.0.1:{srv.s3_port}{path}", data=body)
    S3SigV4Auth(Credentials(c["access_key_id"], c["secret_access_key"]), "s3", "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", srv.s3_port, timeout=60)
    try:
        conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"127.0.0.1:{srv.s3_port}")  # as signed (the URL's)
        for k, v in req.headers.items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        conn.send(body[:len(body) // 2])
        time.sleep(0.2)  # the server has the head and is writing the part
        during()
        conn.send(body[len(body) // 2:])
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def err(r):
    return r.response["Error"]["Code"] if isinstance(r, botocore.exceptions.ClientError) else None


@pytest.fixture
def racer(tmp_path_factory):
    srv = start(tmp_path_factory, "mpu-race", **{"multipart-min-part-size": 1, "body-timeout-ms": 10000})
    _, c = make_bucket(srv, B)
    s3s = [client(srv, c["access_key_id"], c["secret_access_key"]) for _ in range(3)]
    yield srv, c, s3s
    if srv.returncode is None:
        assert srv.stop() == 0


def test_upload_part_against_abort(racer):
    srv, c, (s3, s3a, s3b) = racer
    outcomes = set()
    for i in range(ROUNDS):
        key = f"abort/{i}"
        up = s3.create_multipart_upload(Bucket=B, Key=key)["UploadId"]
        s3.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=1, Body=os.urandom(20000))
        body = os.urandom(1000000 + 50000 * (i % 4))
        delay = 0.005 * (i % 6)  # the Abort lands before, during or after the part's body
        part, abort = race(lambda: s3a.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=2, Body=body),
                           lambda: time.sleep(delay) or s3b.abort_multipart_upload(Bucket=B, Key=key, UploadId=up))
        assert err(abort) is None, abort  # the abort always wins in the end
        assert err(part) in (None, "NoSuchUpload"), part
        outcomes.add(err(part))
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.list_parts(Bucket=B, Key=key, UploadId=up)
        assert code_of(e) == "NoSuchUpload"
    # The part that is already streaming when the Abort commits: refused at its commit.
    for i in range(2):
        key = f"abort/slow{i}"
        up = s3.create_multipart_upload(Bucket=B, Key=key)["UploadId"]
        st, body = slow_upload_part(srv, c, key, up, 1, os.urandom(300000),
                                    lambda: s3b.abort_multipart_upload(Bucket=B, Key=key, UploadId=up))
        assert st == 404 and b"<Code>NoSuchUpload</Code>" in body, body
    assert s3.list_multipart_uploads(Bucket=B).get("Uploads", []) == []
    print("UploadPart outcomes against Abort:", outcomes)
    fsck_clean(srv)  # no part record without its upload, no part file without a record


def test_upload_part_against_complete(racer):
    srv, c, (s3, s3a, s3b) = racer
    completed = {}
    for i in range(ROUNDS):
        key = f"complete/{i}"
        p1 = os.urandom(30000)
        up = s3.create_multipart_upload(Bucket=B, Key=key)["UploadId"]
        e1 = s3.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=1, Body=p1)["ETag"]
        p2 = os.urandom(200000 + 40000 * (i % 3))
        e2 = '"%s"' % hashlib.md5(p2).hexdigest()
        if i % 2 == 0:
            # A new part 2, listed by a Complete sent at the same time: either UploadPart commits
            # first and Complete found it (both in the object), or Complete answered InvalidPart
            # (it looked before the part existed) and the upload is still there.
            listed = [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]
            part, done = race(lambda: s3a.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=2, Body=p2),
                              lambda: s3b.complete_multipart_upload(Bucket=B, Key=key, UploadId=up,
                                                                    MultipartUpload={"Parts": listed}))
            assert err(part) is None, part
            if err(done) is None:
                completed[key] = p1 + p2
            else:
                assert err(done) == "InvalidPart", done
                s3.complete_multipart_upload(Bucket=B, Key=key, UploadId=up, MultipartUpload={"Parts": listed})
                completed[key] = p1 + p2
        else:
            # Part 1 uploaded again while a Complete listing the first part 1 commits: either the
            # Complete won (the object is the first part 1, the re-upload got NoSuchUpload) or
            # the re-upload won (Complete got InvalidPart: the part it listed is gone).
            part, done = race(lambda: s3a.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=1, Body=p2),
                              lambda: s3b.complete_multipart_upload(Bucket=B, Key=key, UploadId=up,
                                                                    MultipartUpload={"Parts": [
                                                                        {"PartNumber": 1, "ETag": e1}]}))
            if err(done) is None:
                assert err(part) == "NoSuchUpload", part
                completed[key] = p1
            else:
                assert err(done) == "InvalidPart" and err(part) is None, (done, part)
                s3.complete_multipart_upload(Bucket=B, Key=key, UploadId=up,
                                             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e2}]})
                completed[key] = p2
    # A part still streaming when a Complete (that does not list it) commits: refused at its
    # commit, and the completed object is the listed parts.
    p1 = os.urandom(30000)
    up = s3.create_multipart_upload(Bucket=B, Key="complete/slow")["UploadId"]
    e1 = s3.upload_part(Bucket=B, Key="complete/slow", UploadId=up, PartNumber=1, Body=p1)["ETag"]
    st, body = slow_upload_part(srv, c, "complete/slow", up, 2, os.urandom(300000),
                                lambda: s3b.complete_multipart_upload(Bucket=B, Key="complete/slow", UploadId=up,
                                                                      MultipartUpload={"Parts": [
                                                                          {"PartNumber": 1, "ETag": e1}]}))
    assert st == 404 and b"<Code>NoSuchUpload</Code>" in body, body
    completed["complete/slow"] = p1
    for key, data in completed.items():
        assert s3.get_object(Bucket=B, Key=key)["Body"].read() == data, key
    assert s3.list_multipart_uploads(Bucket=B).get("Uploads", []) == []
    fsck_clean(srv)
    s3 = restart(srv, c)
    for key, data in completed.items():
        assert s3.get_object(Bucket=B, Key=key)["Body"].read() == data, key


def test_expiry_sweep_against_complete(tmp_path_factory):
    # Uploads expire 2 s after they begin; the sweep runs every second. Completes are sent at
    # staggered ages around the expiry, so some land before the sweep's abort and some after.
    srv = start(tmp_path_factory, "mpu-expiry-race", **{"multipart-expiry-s": 2, "multipart-min-part-size": 1})
    try:
        _, c = make_bucket(srv, B)
        n = 2 * ROUNDS
        s3s = [client(srv, c["access_key_id"], c["secret_access_key"]) for _ in range(n)]
        ups = []
        results = {}
        for i in range(n):
            key = f"exp/{i}"
            t0 = time.monotonic()
            up = s3s[i].create_multipart_upload(Bucket=B, Key=key)["UploadId"]
            data = os.urandom(100000 + i)
            try:
                e = s3s[i].upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=1, Body=data)["ETag"]
            except botocore.exceptions.ClientError as ex:  # a very slow machine: expired already
                assert err(ex) == "NoSuchUpload"
                e = None
            ups.append((key, up, data, e, t0))

        def complete(i):
            key, up, data, e, t0 = ups[i]
            if e is None:
                results[key] = "NoSuchUpload"
                return
            time.sleep(max(0.0, t0 + 1.5 + 0.1 * (i % 12) - time.monotonic()))
            try:
                s3s[i].complete_multipart_upload(Bucket=B, Key=key, UploadId=up,
                                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
                results[key] = None
            except botocore.exceptions.ClientError as ex:
                results[key] = err(ex)

        ts = [threading.Thread(target=complete, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert set(results.values()) <= {None, "NoSuchUpload"}, results
        time.sleep(3.5)  # every upload left is now swept
        s3 = s3s[0]
        assert s3.list_multipart_uploads(Bucket=B).get("Uploads", []) == []
        for key, _, data, _, _ in ups:
            if results[key] is None:
                assert s3.get_object(Bucket=B, Key=key)["Body"].read() == data, key
            else:
                with pytest.raises(botocore.exceptions.ClientError) as ex:
                    s3.head_object(Bucket=B, Key=key)
                assert ex.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        print("Complete outcomes against the sweep:", sorted(map(str, results.values())))
        fsck_clean(srv)  # the sweep never retired a completed object's part files
        s3 = restart(srv, c)
        for key, _, data, _, _ in ups:
            if results[key] is None:
                assert s3.get_object(Bucket=B, Key=key)["Body"].read() == data, key
    finally:
        if srv.returncode is None:
            assert srv.stop() == 0
