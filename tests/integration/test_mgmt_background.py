"""The management shard's background work (docs/management-api.md, "Threading"):

  * DELETE .../buckets/{id}?force=true purges the bucket's objects (single-file and multipart),
    its uploads in progress and their parts — data files included, while the server runs;
  * POST /auth/login hashes on worker threads: a burst of logins does not hold up other
    management requests; login rate limits per account and per client IP (429, Retry-After);
  * dead refresh-token records are swept periodically.
"""
import http.client
import json
import os
import re
import threading
import time

from test_fsck import fsck
from test_mgmt import Server
from test_s3_auth import client

API_KEY = "mk_test_" + "b" * 32
ADMIN = "admin@localhost"
ADMIN_PASSWORD = "background-admin-pass-41c9"
BUCKETS = "/storage/object-storage/buckets"


def start(tmp_path, **options):
    env = {"MAMUTE_API_KEY": API_KEY, "MAMUTE_ADMIN_PASSWORD": ADMIN_PASSWORD}
    env.update({"MAMUTE_" + k.upper(): str(v) for k, v in options.items()})
    return Server(tmp_path, env).start()


def call(srv, method, path, body=None, key=API_KEY, headers=None):
    return srv.request(method, path, body, key=key, headers=headers)


def login(srv, email=ADMIN, password=ADMIN_PASSWORD):
    return call(srv, "POST", "/auth/login", {"email": email, "password": password}, key=None)


def metric(srv, name):
    st, text, _ = call(srv, "GET", "/metrics", key=None)
    assert st == 200
    m = re.search(rb"^" + name.encode() + rb'\{service="mgmt",shard="\d+"\} (\d+)$', text, re.M)
    assert m, name
    return int(m.group(1))


def data_files(srv):
    files = set()
    for root, _, names in os.walk(srv.data_dir / "objects"):
        files.update(os.path.join(root, n) for n in names)
    return files


# ====================================================================== force delete

def test_force_delete_purges_records_and_data_files(tmp_path):
    srv = start(tmp_path / "srv", unlink_grace_ms=100, multipart_min_part_size=1)
    try:
        def bucket(name):
            st, b, _ = call(srv, "POST", BUCKETS, {"name": name})
            assert st == 201, b
            st, c, _ = call(srv, "POST", f"{BUCKETS}/{b['id']}/credentials")
            assert st == 201, c
            return b, client(srv, c["access_key_id"], c["secret_access_key"])

        keep, s3_keep = bucket("purge-keeps")
        s3_keep.put_object(Bucket="purge-keeps", Key="stays", Body=os.urandom(200 * 1024))
        before = data_files(srv)
        assert len(before) == 1

        doomed, s3 = bucket("purge-doomed")
        big = 200 * 1024  # above the inline threshold: a data file each
        s3.put_object(Bucket="purge-doomed", Key="single", Body=os.urandom(big))
        s3.put_object(Bucket="purge-doomed", Key="inline", Body=b"tiny")
        s3.put_object(Bucket="purge-doomed", Key="overwritten", Body=os.urandom(big))
        s3.put_object(Bucket="purge-doomed", Key="overwritten", Body=os.urandom(big))
        mpu = s3.create_multipart_upload(Bucket="purge-doomed", Key="multi")
        parts = []
        for n in (1, 2, 3):
            r = s3.upload_part(Bucket="purge-doomed", Key="multi", UploadId=mpu["UploadId"], PartNumber=n,
                               Body=os.urandom(big))
            parts.append({"PartNumber": n, "ETag": r["ETag"]})
        s3.complete_multipart_upload(Bucket="purge-doomed", Key="multi", UploadId=mpu["UploadId"],
                                     MultipartUpload={"Parts": parts})
        for key in ("open-1", "open-2"):  # uploads in progress, with parts on disk
            up = s3.create_multipart_upload(Bucket="purge-doomed", Key=key)
            for n in (1, 2):
                s3.upload_part(Bucket="purge-doomed", Key=key, UploadId=up["UploadId"], PartNumber=n,
                               Body=os.urandom(big))
        s3.create_multipart_upload(Bucket="purge-doomed", Key="open-empty")
        deadline = time.monotonic() + 5  # the overwritten file goes after the grace
        while len(data_files(srv)) != len(before) + 1 + 1 + 3 + 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(data_files(srv)) == len(before) + 9

        st, err, _ = call(srv, "DELETE", f"{BUCKETS}/{doomed['id']}")
        assert st == 409 and err["error"]["code"] == "conflict"
        st, body, _ = call(srv, "DELETE", f"{BUCKETS}/{doomed['id']}?force=true")
        assert st == 204 and body is None
        assert metric(srv, "mamute_mgmt_objects_purged_total") == 4
        assert metric(srv, "mamute_mgmt_uploads_purged_total") == 3
        # Without a restart: only the other bucket's file is left once the grace has passed.
        deadline = time.monotonic() + 5
        while data_files(srv) != before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert data_files(srv) == before
        assert s3_keep.get_object(Bucket="purge-keeps", Key="stays")["ContentLength"] == 200 * 1024
        st, _, _ = call(srv, "GET", f"{BUCKETS}/{doomed['id']}")
        assert st == 404
        # The name is free again, and the new bucket is empty.
        st, again, _ = call(srv, "POST", BUCKETS, {"name": "purge-doomed"})
        assert st == 201
        st, files, _ = call(srv, "GET", f"{BUCKETS}/{again['id']}/files")
        assert st == 200 and files["items"] == []
    finally:
        srv.stop()
    r = fsck(srv.data_dir)
    assert r.returncode == 0 and "clean" in r.stdout, r.stdout + r.stderr


def test_force_delete_of_an_empty_bucket(tmp_path):
    srv = start(tmp_path / "srv")
    try:
        st, b, _ = call(srv, "POST", BUCKETS, {"name": "purge-empty"})
        assert st == 201
        st, _, _ = call(srv, "DELETE", f"{BUCKETS}/{b['id']}?force=true")
        assert st == 204
        assert metric(srv, "mamute_mgmt_buckets_purged_total") == 1
    finally:
        srv.stop()


# ====================================================================== logins

def test_a_login_burst_does_not_hold_up_other_requests(tmp_path):
    srv = start(tmp_path / "srv", login_workers=2, login_ip_burst=100)
    try:
        call(srv, "POST", BUCKETS, {"name": "burst-bucket"})
        n_logins = 4
        results = []

        def one_login():
            # Each queued login waits for the ones ahead: a loaded machine needs more than the
            # helper's 10 s timeout.
            conn = http.client.HTTPConnection("127.0.0.1", srv.api_port, timeout=120)
            try:
                conn.request("POST", "/auth/login", json.dumps({"email": ADMIN, "password": ADMIN_PASSWORD}),
                             {"Content-Type": "application/json"})
                results.append(conn.getresponse().status)
            finally:
                conn.close()

        threads = [threading.Thread(target=one_login) for _ in range(n_logins)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(0.05)
        # Two workers: the logins take n/2 × one PBKDF2 in all. Meanwhile, other requests answer.
        latencies = []
        while any(t.is_alive() for t in threads):
            for method, path, key in (("GET", "/healthz", None), ("GET", BUCKETS, API_KEY)):
                a = time.monotonic()
                st, _, _ = call(srv, method, path, key=key)
                latencies.append(time.monotonic() - a)
                assert st == 200
        for t in threads:
            t.join()
        burst = time.monotonic() - t0
        assert results == [200] * n_logins
        latencies.sort()
        assert len(latencies) >= 4, (burst, latencies)
        # Before logins moved off the loop, each of these waited for every login queued ahead.
        assert latencies[len(latencies) // 2] < burst / 4, (burst, latencies)
    finally:
        srv.stop()


def test_login_rate_limits_answer_429_then_recover(tmp_path):
    srv = start(tmp_path / "srv", login_account_burst=2, login_account_per_min=12, login_ip_burst=5,
                login_ip_per_min=12)
    try:
        # Per account: failed attempts count. (A slow machine may refill a token meanwhile: one
        # every 5 s, so a 429 comes at the third attempt or soon after.)
        statuses = []
        while 429 not in statuses and len(statuses) < 5:
            st, err, hdrs = login(srv, password="wrong")
            statuses.append(st)
        assert statuses[:2] == [401, 401] and statuses[-1] == 429, statuses
        assert err["error"]["code"] == "too_many_requests" and set(err["error"]) == {"code", "message", "request_id"}
        retry = int(hdrs["retry-after"])
        assert 1 <= retry <= 5
        assert ADMIN_PASSWORD.encode() not in json.dumps(err).encode()
        # Even the right password waits: the account is closed to guessing for now.
        assert login(srv)[0] == 429
        # Per IP: every attempt counts; other accounts from this address run out too.
        statuses = []
        while 429 not in statuses and len(statuses) < 8:
            statuses.append(login(srv, email=f"nobody{len(statuses)}@example.com", password="x")[0])
        assert statuses[:3] == [401] * 3 and statuses[-1] == 429, statuses
        st, _, hdrs = login(srv, email="another@example.com", password="x")
        assert st == 429 and int(hdrs["retry-after"]) >= 1
        assert metric(srv, "mamute_mgmt_logins_rate_limited_total") >= 3
        # Both buckets refill: after Retry-After the right password works again.
        time.sleep(max(retry, int(hdrs["retry-after"])) + 0.5)
        st, tok, _ = login(srv)
        assert st == 200, tok
    finally:
        srv.stop()


# ====================================================================== dead sessions

def test_dead_refresh_records_are_swept(tmp_path):
    srv = start(tmp_path / "srv", session_prune_interval_s=1, jwt_refresh_ttl_s=4)
    try:
        def refresh(token):
            return call(srv, "POST", "/auth/refresh", {"refresh_token": token}, key=None)

        def wait_pruned(n, timeout=4.0):
            deadline = time.monotonic() + timeout
            while metric(srv, "mamute_mgmt_sessions_pruned_total") < n and time.monotonic() < deadline:
                time.sleep(0.1)
            return metric(srv, "mamute_mgmt_sessions_pruned_total")

        st, a, _ = login(srv)
        assert st == 200
        st, a2, _ = refresh(a["refresh_token"])
        assert st == 200
        time.sleep(1.5)  # a sweep ran: the rotated record of a live session must stay
        assert metric(srv, "mamute_mgmt_sessions_pruned_total") == 0
        # Reuse detection still works (it needs that record): the whole session is revoked ...
        assert refresh(a["refresh_token"])[0] == 401
        assert refresh(a2["refresh_token"])[0] == 401
        # ... and then swept: two refresh records and the session.
        assert wait_pruned(3) == 3
        # Logout: the session and its record go at the next sweep.
        st, b, _ = login(srv)
        st, _, _ = call(srv, "POST", "/auth/logout", {"refresh_token": b["refresh_token"]},
                        headers={"Authorization": "Bearer " + b["access_token"]}, key=None)
        assert st == 204
        assert wait_pruned(5) == 5
        # Expiry: a session left alone goes once its refresh TTL has passed.
        st, c, _ = login(srv)
        time.sleep(2)
        assert metric(srv, "mamute_mgmt_sessions_pruned_total") == 5
        assert wait_pruned(7, timeout=6) == 7
        assert refresh(c["refresh_token"])[0] == 401
    finally:
        srv.stop()
