"""The management REST API (docs/management-api.md) against the real binary.

Run with Debian's interpreter:
    MAMUTE_BIN=/path/to/mamute /usr/bin/python3 -m pytest tests/integration/test_mgmt.py -q

The servers here get their own fixture (not conftest's): they need environment variables
(MAMUTE_API_KEY, MAMUTE_ADMIN_PASSWORD, MAMUTE_MASTER_KEY) and access to the bootstrap output.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAMUTE_BIN = os.environ.get("MAMUTE_BIN", str(REPO / "build" / "src" / "mamute"))

API_KEY = "mk_test_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
ADMIN_PASSWORD = "test-admin-password-5f1c"
BUCKETS = "/storage/object-storage/buckets"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One mamute process with its own data dir and environment."""

    def __init__(self, workdir, env_extra=None, data_dir=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = Path(data_dir) if data_dir else self.workdir / "data"
        self.env_extra = dict(env_extra or {})
        self.proc = None
        self.runs = 0

    def start(self):
        if not os.access(MAMUTE_BIN, os.X_OK):
            pytest.fail(f"mamute binary not found: {MAMUTE_BIN} (set MAMUTE_BIN)")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAMUTE_")}
        env.update(self.env_extra)
        for attempt in range(3):
            self.runs += 1
            self.s3_port, self.api_port = free_port(), free_port()
            self.stdout_path = self.workdir / f"stdout{self.runs}.log"
            self.stderr_path = self.workdir / f"stderr{self.runs}.log"
            args = [MAMUTE_BIN, "--data-dir", str(self.data_dir),
                    "--s3-listen", f"127.0.0.1:{self.s3_port}",
                    "--api-listen", f"127.0.0.1:{self.api_port}",
                    "--data-cores=1", "--pin-threads=false", "--access-log=true",
                    "--shutdown-timeout-ms=3000"]
            with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
                self.proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    if self.request("GET", "/healthz")[0] == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        pytest.fail(f"mamute did not start:\n{self.stderr()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = "hung"
            assert rc == 0, f"exit {rc}\n{self.stderr()}"

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def all_logs(self):
        text = ""
        for p in sorted(self.workdir.glob("std*.log")):
            text += p.read_text(errors="replace")
        return text

    def request(self, method, path, body=None, key=API_KEY, headers=None):
        """Returns (status, parsed JSON or None, headers dict)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=10)
        h = dict(headers or {})
        if key is not None:
            h["X-API-Key"] = key
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            raw = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()
        data = None
        if raw:
            ctype = hdrs.get("content-type", "")
            assert ctype.startswith("application/json") or path == "/metrics", (method, path, ctype, raw)
            data = json.loads(raw) if ctype.startswith("application/json") else raw
        return r.status, data, hdrs


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("mgmt"), {
        "MAMUTE_API_KEY": API_KEY,
        "MAMUTE_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }).start()
    s.secrets = [API_KEY, ADMIN_PASSWORD]  # every secret seen; none may reach the logs
    yield s
    s.stop()
    logs = s.all_logs()
    leaked = [x for x in s.secrets if x in logs]
    assert not leaked, f"secrets in the server logs: {leaked}"


_counter = [0]


def unique_name(prefix="b"):
    _counter[0] += 1
    return f"{prefix}-{os.getpid()}-{_counter[0]}-{int(time.time() * 1000) % 100000}"


def create_bucket(srv, name=None, storage_class=None):
    body = {"name": name or unique_name()}
    if storage_class is not None:
        body["storage_class"] = storage_class
    st, data, _ = srv.request("POST", BUCKETS, body)
    assert st == 201, data
    return data


def assert_error(status, data, want_status, want_code):
    assert status == want_status, data
    assert set(data) == {"error"}, data
    err = data["error"]
    assert err["code"] == want_code, data
    assert isinstance(err["message"], str) and err["message"]
    assert re.fullmatch(r"[0-9A-F]{16}", err["request_id"]), err


RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


# ---------------------------------------------------------------- bootstrap

def test_bootstrap_prints_generated_key_once(tmp_path):
    s = Server(tmp_path / "boot")
    s.start()
    try:
        err = s.stderr()
        keys = re.findall(r"project API key for \S+ \(shown once\): (\S+)", err)
        pwds = re.findall(r"admin password for admin@localhost \(shown once\): (\S+)", err)
        assert len(keys) == 1 and len(pwds) == 1, err
        key = keys[0]
        assert re.fullmatch(r"mk_[A-Za-z0-9_-]{43}", key)
        assert s.request("GET", BUCKETS, key=key)[0] == 200
        assert oct((s.data_dir / "master.key").stat().st_mode & 0o777) == "0o600"
    finally:
        s.stop()
    # Second start on the same data dir: nothing secret printed, the key still works.
    s.start()
    try:
        err2 = s.stderr()
        assert "shown once" not in err2 and key not in err2 and pwds[0] not in err2
        assert s.request("GET", BUCKETS, key=key)[0] == 200
        assert key not in s.stdout_path.read_text()
    finally:
        s.stop()


def test_bootstrap_from_environment_prints_no_secret(tmp_path):
    s = Server(tmp_path / "envboot", {"MAMUTE_API_KEY": API_KEY, "MAMUTE_ADMIN_PASSWORD": ADMIN_PASSWORD,
                                      "MAMUTE_ADMIN_EMAIL": "Ops@Example.com"})
    s.start()
    try:
        err = s.stderr()
        assert "shown once" not in err and API_KEY not in err and ADMIN_PASSWORD not in err
        assert "ops@example.com" in err  # the (lower-cased) admin email is not a secret
        assert s.request("GET", BUCKETS)[0] == 200
    finally:
        s.stop()


def test_loose_master_key_permissions_refuse_start(tmp_path):
    s = Server(tmp_path / "perm", {"MAMUTE_API_KEY": API_KEY})
    s.start()
    s.stop()
    (s.data_dir / "master.key").chmod(0o644)
    r = subprocess.run([MAMUTE_BIN, "--data-dir", str(s.data_dir), "--s3-listen", f"127.0.0.1:{free_port()}",
                        "--api-listen", f"127.0.0.1:{free_port()}", "--data-cores=1", "--pin-threads=false"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "master.key" in r.stderr and "chmod 600" in r.stderr


# ---------------------------------------------------------------- auth middleware

AUTHED_ROUTES = [
    ("POST", "/security/apikey"),
    ("POST", BUCKETS),
    ("GET", BUCKETS),
    ("GET", BUCKETS + "/0000000000000001"),
    ("DELETE", BUCKETS + "/0000000000000001"),
    ("POST", BUCKETS + "/0000000000000001/credentials"),
    ("GET", BUCKETS + "/0000000000000001/credentials"),
    ("POST", BUCKETS + "/0000000000000001/credentials/MKAAAAAAAAAAAAAAAAAA/deactivate"),
    ("POST", BUCKETS + "/0000000000000001/credentials/MKAAAAAAAAAAAAAAAAAA/activate"),
    ("POST", BUCKETS + "/0000000000000001/credentials/MKAAAAAAAAAAAAAAAAAA/regenerate"),
    ("DELETE", BUCKETS + "/0000000000000001/credentials/MKAAAAAAAAAAAAAAAAAA"),
    ("GET", BUCKETS + "/0000000000000001/files"),
]


@pytest.mark.parametrize("method,path", AUTHED_ROUTES)
@pytest.mark.parametrize("key", [None, "", "mk_wrong", API_KEY + "x", API_KEY[:-1]])
def test_missing_or_invalid_key_is_401(srv, method, path, key):
    st, data, _ = srv.request(method, path, key=key)
    assert_error(st, data, 401, "unauthorized")


def test_garbage_bearer_is_401(srv):
    # Bearer tokens proper: test_mgmt_jwt.py.
    st, data, _ = srv.request("GET", BUCKETS, key=None, headers={"Authorization": "Bearer abc.def.ghi"})
    assert_error(st, data, 401, "unauthorized")


def test_public_routes_need_no_key(srv):
    assert srv.request("GET", "/healthz", key=None)[0] == 200
    st, body, _ = srv.request("GET", "/metrics", key=None)
    assert st == 200 and b'service="mgmt"' in body


def test_unknown_routes_404_and_unbuilt_501(srv):
    for path in ["/nope", "/storage-x", BUCKETS + "/0000000000000001/nope",
                 BUCKETS + "//credentials", BUCKETS + "/", BUCKETS + "/a/credentials/b/c/d"]:
        st, data, _ = srv.request("GET", path)
        assert_error(st, data, 404, "not_found")
    for path in ["/dns/zones", "/auth/sessions", "/.well-known/openid-configuration", "/cdn/distributions"]:
        st, data, _ = srv.request("GET", path)
        assert_error(st, data, 501, "not_implemented")


@pytest.mark.parametrize("method,path,allow", [
    ("PUT", BUCKETS, "GET, HEAD, POST"),
    ("DELETE", BUCKETS, "GET, HEAD, POST"),
    ("GET", "/security/apikey", "POST"),
    ("POST", BUCKETS + "/0000000000000001", "GET, HEAD, DELETE"),
    ("PUT", BUCKETS + "/0000000000000001/credentials", "GET, HEAD, POST"),
    ("GET", BUCKETS + "/0000000000000001/credentials/MKAAAAAAAAAAAAAAAAAA", "DELETE"),
    ("GET", BUCKETS + "/0000000000000001/credentials/MKAAAAAAAAAAAAAAAAAA/regenerate", "POST"),
    ("DELETE", BUCKETS + "/0000000000000001/files", "GET, HEAD"),
    ("POST", "/healthz", None),
])
def test_wrong_method_is_405(srv, method, path, allow):
    st, data, hdrs = srv.request(method, path)
    assert_error(st, data, 405, "method_not_allowed")
    if allow:
        assert hdrs["allow"] == allow


# ---------------------------------------------------------------- buckets

def test_create_get_list_delete_bucket(srv):
    name = unique_name("life")
    b = create_bucket(srv, name)
    assert set(b) == {"id", "name", "storage_class", "region", "created_at"}
    assert b["name"] == name and b["storage_class"] == "STANDARD" and b["region"] == "us-east-1"
    assert re.fullmatch(r"[0-9a-f]{16}", b["id"]) and RFC3339.fullmatch(b["created_at"])
    st, got, hdrs = srv.request("GET", f"{BUCKETS}/{b['id']}")
    assert st == 200 and got == b and hdrs["cache-control"] == "no-store"
    st, lst, _ = srv.request("GET", BUCKETS + "?limit=1000")
    assert st == 200 and b in lst["items"]
    st, data, _ = srv.request("DELETE", f"{BUCKETS}/{b['id']}")
    assert st == 204 and data is None
    st, data, _ = srv.request("GET", f"{BUCKETS}/{b['id']}")
    assert_error(st, data, 404, "not_found")
    st, data, _ = srv.request("DELETE", f"{BUCKETS}/{b['id']}")
    assert_error(st, data, 404, "not_found")
    # The name is free again.
    create_bucket(srv, name)


@pytest.mark.parametrize("given,stored", [(None, "STANDARD"), ("Standard", "STANDARD"), ("standard", "STANDARD"),
                                          ("STANDARD_IA", "STANDARD_IA"), ("intelligent_tiering", "INTELLIGENT_TIERING"),
                                          ("GLACIER_IR", "GLACIER_IR"), ("OneZone_IA", "ONEZONE_IA")])
def test_storage_classes(srv, given, stored):
    assert create_bucket(srv, storage_class=given)["storage_class"] == stored


@pytest.mark.parametrize("given", ["COLD", "", 5, ["STANDARD"], "STANDARD "])
def test_bad_storage_class_is_422(srv, given):
    st, data, _ = srv.request("POST", BUCKETS, {"name": unique_name(), "storage_class": given})
    assert_error(st, data, 422, "validation_failed")
    assert "storage_class" in data["error"]["message"] and "STANDARD" in data["error"]["message"]


NAME_RULES = [
    ("ab", "between 3 and 63"),
    ("a" * 64, "between 3 and 63"),
    ("My-Bucket", "lowercase letters"),
    ("bucket_name", "lowercase letters"),
    ("-bucket", "begin and end"),
    ("bucket-", "begin and end"),
    ("bucket.", "begin and end"),
    ("my..bucket", "two adjacent periods"),
    ("192.168.5.4", "IP address"),
    ("xn--bucket", "xn--"),
    ("sthree-bucket", "sthree-"),
    ("bucket-s3alias", "-s3alias"),
    ("bucket--ol-s3", "--ol-s3"),
]


@pytest.mark.parametrize("name,rule", NAME_RULES)
def test_bucket_name_rules_are_422_naming_the_rule(srv, name, rule):
    st, data, _ = srv.request("POST", BUCKETS, {"name": name})
    assert_error(st, data, 422, "validation_failed")
    assert rule in data["error"]["message"]


@pytest.mark.parametrize("body,status,code", [
    ({}, 422, "validation_failed"),
    ({"name": 7}, 422, "validation_failed"),
    ({"name": None}, 422, "validation_failed"),
    ("not json", 400, "invalid_json"),
    ("[1,2]", 400, "invalid_json"),
    ("", 400, "invalid_json"),
    ('{"name": "abc"', 400, "invalid_json"),
])
def test_bad_create_bodies(srv, body, status, code):
    st, data, _ = srv.request("POST", BUCKETS, body, headers={"Content-Type": "application/json"})
    assert_error(st, data, status, code)


def test_body_over_64k_is_413(srv):
    st, data, _ = srv.request("POST", BUCKETS, {"name": "x" * 70000})
    assert_error(st, data, 413, "payload_too_large")


def test_taken_name_is_409(srv):
    b = create_bucket(srv)
    st, data, _ = srv.request("POST", BUCKETS, {"name": b["name"]})
    assert_error(st, data, 409, "conflict")


def test_unknown_bucket_ids_are_404(srv):
    for bid in ["0000000000000001", "ffffffffffffffff", "xyz", "DB2B15AE4BFDCF16", "1" * 17]:
        for method, suffix in [("GET", ""), ("DELETE", ""), ("GET", "/credentials"), ("POST", "/credentials"),
                               ("GET", "/files")]:
            st, data, _ = srv.request(method, f"{BUCKETS}/{bid}{suffix}")
            assert_error(st, data, 404, "not_found")


def test_pagination(srv, tmp_path):
    # A fresh server so the listing holds exactly our buckets.
    s = Server(tmp_path / "page", {"MAMUTE_API_KEY": API_KEY}).start()
    try:
        names = sorted(f"page-{i:02d}" for i in range(7))
        for n in reversed(names):
            assert s.request("POST", BUCKETS, {"name": n})[0] == 201
        st, page, _ = s.request("GET", BUCKETS)
        assert st == 200 and [b["name"] for b in page["items"]] == names and page["next_cursor"] is None
        seen, cursor, pages = [], None, 0
        while True:
            path = BUCKETS + "?limit=3" + (f"&cursor={cursor}" if cursor else "")
            st, page, _ = s.request("GET", path)
            assert st == 200
            pages += 1
            seen += [b["name"] for b in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == names and pages == 3
        st, page, _ = s.request("GET", BUCKETS + "?limit=7")
        assert len(page["items"]) == 7 and page["next_cursor"] is None
        for bad in ["limit=0", "limit=1001", "limit=abc", "limit=-1", "cursor=%%%", "cursor=!!"]:
            st, data, _ = s.request("GET", BUCKETS + "?" + bad)
            assert_error(st, data, 400, "invalid_request")
    finally:
        s.stop()


# ---------------------------------------------------------------- API key rotation

def test_rotation_kills_the_old_key_immediately(tmp_path):
    s = Server(tmp_path / "rot", {"MAMUTE_API_KEY": API_KEY}).start()
    try:
        b = s.request("POST", BUCKETS, {"name": "rot-bucket"})[1]
        st, data, hdrs = s.request("POST", "/security/apikey")
        assert st == 200 and hdrs["cache-control"] == "no-store"
        new = data["api_key"]
        assert re.fullmatch(r"mk_[A-Za-z0-9_-]{43}", new) and RFC3339.fullmatch(data["created_at"])
        assert_error(*s.request("GET", BUCKETS)[:2], 401, "unauthorized")
        st, got, _ = s.request("GET", f"{BUCKETS}/{b['id']}", key=new)
        assert st == 200 and got == b  # same project
        st, data2, _ = s.request("POST", "/security/apikey", key=new)
        assert st == 200
        assert_error(*s.request("GET", BUCKETS, key=new)[:2], 401, "unauthorized")
        assert s.request("GET", BUCKETS, key=data2["api_key"])[0] == 200
    finally:
        s.stop()
    logs = s.all_logs()
    assert new not in logs and data2["api_key"] not in logs and API_KEY not in logs


# ---------------------------------------------------------------- credentials

def test_credential_lifecycle(srv):
    b = create_bucket(srv)
    base = f"{BUCKETS}/{b['id']}/credentials"
    st, c, hdrs = srv.request("POST", base)
    assert st == 201 and hdrs["cache-control"] == "no-store"
    srv.secrets.append(c["secret_access_key"])
    assert re.fullmatch(r"MK[A-Z0-9]{18}", c["access_key_id"])
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", c["secret_access_key"])
    assert c["bucket_id"] == b["id"] and c["status"] == "active" and RFC3339.fullmatch(c["created_at"])
    ak = c["access_key_id"]

    st, lst, _ = srv.request("GET", base)
    assert st == 200 and len(lst["items"]) == 1
    item = lst["items"][0]
    assert item["access_key_id"] == ak and item["status"] == "active" and item["last_used_at"] is None
    assert "secret_access_key" not in item and c["secret_access_key"] not in json.dumps(lst)

    st, d, _ = srv.request("POST", f"{base}/{ak}/deactivate")
    assert st == 200 and d["status"] == "inactive" and "secret_access_key" not in d
    assert srv.request("GET", base)[1]["items"][0]["status"] == "inactive"
    st, d, _ = srv.request("POST", f"{base}/{ak}/deactivate")  # idempotent
    assert st == 200 and d["status"] == "inactive"
    st, d, _ = srv.request("POST", f"{base}/{ak}/activate")
    assert st == 200 and d["status"] == "active"

    st, r, _ = srv.request("POST", f"{base}/{ak}/regenerate")
    assert st == 200 and r["access_key_id"] == ak
    srv.secrets.append(r["secret_access_key"])
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", r["secret_access_key"])
    assert r["secret_access_key"] != c["secret_access_key"]

    st, c2, _ = srv.request("POST", base, "{}")
    assert st == 201
    srv.secrets.append(c2["secret_access_key"])
    assert sorted(x["access_key_id"] for x in srv.request("GET", base)[1]["items"]) == sorted([ak, c2["access_key_id"]])

    st, data, _ = srv.request("DELETE", f"{base}/{ak}")
    assert st == 204 and data is None
    for method, suffix in [("DELETE", ""), ("POST", "/activate"), ("POST", "/deactivate"), ("POST", "/regenerate")]:
        assert_error(*srv.request(method, f"{base}/{ak}{suffix}")[:2], 404, "not_found")
    assert [x["access_key_id"] for x in srv.request("GET", base)[1]["items"]] == [c2["access_key_id"]]

    # A credential is addressed only under its own bucket.
    other = create_bucket(srv)
    assert_error(*srv.request("DELETE", f"{BUCKETS}/{other['id']}/credentials/{c2['access_key_id']}")[:2],
                 404, "not_found")
    for bad_ak in ["AKIAIOSFODNN7EXAMPLE", "mkaaaaaaaaaaaaaaaaaa", "MK1"]:
        assert_error(*srv.request("DELETE", f"{base}/{bad_ak}")[:2], 404, "not_found")

    # Deleting the bucket deletes its credentials.
    assert srv.request("DELETE", f"{BUCKETS}/{b['id']}")[0] == 204
    assert_error(*srv.request("GET", base)[:2], 404, "not_found")


# ---------------------------------------------------------------- files

def test_files_listing_of_an_empty_bucket(srv):
    b = create_bucket(srv)
    st, page, _ = srv.request("GET", f"{BUCKETS}/{b['id']}/files?prefix=a%2F&delimiter=%2F&limit=10")
    assert st == 200 and page == {"items": [], "common_prefixes": [], "next_cursor": None}
    for bad in ["limit=0", "limit=1001", "cursor=nonsense", "prefix=%zz"]:
        st, data, _ = srv.request("GET", f"{BUCKETS}/{b['id']}/files?{bad}")
        assert_error(st, data, 400, "invalid_request")


# ---------------------------------------------------------------- the seed document's commands

def curl(srv, *args):
    r = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    body, _, code = r.stdout.rpartition("\n")
    return int(code), (json.loads(body) if body.strip() else None)


def test_seed_curl_commands(tmp_path):
    s = Server(tmp_path / "seed", {"MAMUTE_API_KEY": API_KEY}).start()
    try:
        base = f"http://127.0.0.1:{s.api_port}"
        env_key = API_KEY
        # Step 1 — Create the bucket via the management API
        code, bucket = curl(s, "-X", "POST", f"{base}/storage/object-storage/buckets",
                            "-H", f"X-API-Key: {env_key}",
                            "-H", "content-type: application/json",
                            "-d", '{"name": "my-app-uploads", "storage_class": "Standard"}')
        assert code == 201 and bucket["name"] == "my-app-uploads" and bucket["storage_class"] == "STANDARD"
        bucket_id = bucket["id"]
        # Step 2 — Generate S3 credentials for that bucket
        code, cred = curl(s, "-X", "POST", f"{base}/storage/object-storage/buckets/{bucket_id}/credentials",
                          "-H", f"X-API-Key: {env_key}",
                          "-H", "content-type: application/json")
        assert code == 201 and cred["access_key_id"] and cred["secret_access_key"]
        ak = cred["access_key_id"]
        # Credential lifecycle
        code, lst = curl(s, f"{base}/storage/object-storage/buckets/{bucket_id}/credentials",
                         "-H", f"X-API-Key: {env_key}")
        assert code == 200 and lst["items"][0]["access_key_id"] == ak
        for action, status in [("deactivate", "inactive"), ("activate", "active"), ("regenerate", "active")]:
            code, d = curl(s, "-X", "POST",
                           f"{base}/storage/object-storage/buckets/{bucket_id}/credentials/{ak}/{action}",
                           "-H", f"X-API-Key: {env_key}")
            assert code == 200 and d["status"] == status
        code, d = curl(s, "-X", "DELETE", f"{base}/storage/object-storage/buckets/{bucket_id}/credentials/{ak}",
                       "-H", f"X-API-Key: {env_key}")
        assert code == 204
        # Rotate the project API key.
        code, k = curl(s, "-X", "POST", f"{base}/security/apikey", "-H", f"X-API-Key: {env_key}")
        assert code == 200 and k["api_key"].startswith("mk_")
        # The DNS example: a documented route this build does not serve yet.
        code, d = curl(s, f"{base}/dns/zones", "-H", f"X-API-Key: {k['api_key']}")
        assert code == 501 and d["error"]["code"] == "not_implemented"
    finally:
        s.stop()
    logs = s.all_logs()
    for secret in (API_KEY, cred["secret_access_key"], k["api_key"]):
        assert secret not in logs


# ---------------------------------------------------------------- docs/openapi.yaml

def test_every_openapi_operation_is_served(srv):
    yaml = pytest.importorskip("yaml")
    spec = yaml.safe_load((REPO / "docs" / "openapi.yaml").read_text())
    assert spec["openapi"].startswith("3.0")
    ops = 0
    for path, item in spec["paths"].items():
        concrete = path.replace("{bucketId}", "0000000000000001").replace("{accessKeyId}", "MKAAAAAAAAAAAAAAAAAA")
        for method in item:
            if method not in ("get", "post", "delete", "put", "patch", "head"):
                continue
            ops += 1
            st, data, _ = srv.request(method.upper(), concrete)
            # A 404 from the API's own resources (no such bucket) is fine; "no such route" is not.
            assert not (st == 404 and data["error"]["message"] == "no such route"), (method, path)
            assert st not in (405, 501), (method, path, st)
    assert ops >= 13
