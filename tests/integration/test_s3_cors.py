"""Per-bucket CORS: Put/Get/DeleteBucketCors with boto3 and the aws CLI, the same configuration
through the management API (JSON), unauthenticated preflights (OPTIONS) and the
Access-Control-* headers of actual requests, errors included — as S3 answers them."""
import http.client
import json
import os
import subprocess

import pytest

from test_s3_auth import api, client, code_of, make_bucket, srv  # noqa: F401 (fixture)

B = "cors-bucket"
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

RULES = [
    {"ID": "app", "AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET", "PUT", "HEAD"],
     "AllowedHeaders": ["x-amz-*", "Content-Type"], "ExposeHeaders": ["ETag", "x-amz-request-id"],
     "MaxAgeSeconds": 3000},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
]


@pytest.fixture(scope="module")
def bucket(srv):  # noqa: F811
    b, c = make_bucket(srv, B)
    return client(srv, c["access_key_id"], c["secret_access_key"]), c, b


def raw(srv, method, path, headers):  # noqa: F811
    conn = http.client.HTTPConnection("127.0.0.1", srv.s3_port, timeout=30)
    try:
        conn.request(method, path, headers=headers)
        r = conn.getresponse()
        return r.status, r.read(), {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()


def preflight(srv, path, origin, method, req_headers=None):  # noqa: F811
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers:
        h["Access-Control-Request-Headers"] = req_headers
    return raw(srv, "OPTIONS", path, h)


def commits(srv):  # noqa: F811
    return srv.metrics()[("mamute_store_commits_total", frozenset())]


def test_put_get_delete_bucket_cors(bucket, srv):  # noqa: F811
    s3, _, _ = bucket
    with pytest.raises(Exception) as e:
        s3.get_bucket_cors(Bucket=B)
    assert code_of(e) == "NoSuchCORSConfiguration"
    before = commits(srv)
    s3.put_bucket_cors(Bucket=B, CORSConfiguration={"CORSRules": RULES})
    # A synced write through the commit thread (group commit), not a RocksDB write on the shard.
    assert commits(srv) > before
    got = s3.get_bucket_cors(Bucket=B)["CORSRules"]
    assert got[0] == RULES[0]
    assert got[1]["AllowedOrigins"] == ["*"] and got[1]["AllowedMethods"] == ["GET"]
    before = commits(srv)
    s3.delete_bucket_cors(Bucket=B)
    assert commits(srv) > before
    with pytest.raises(Exception) as e:
        s3.get_bucket_cors(Bucket=B)
    assert code_of(e) == "NoSuchCORSConfiguration"


@pytest.mark.parametrize("rules,code", [
    ([{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}], "InvalidRequest"),
    ([{"AllowedOrigins": ["https://*.*.com"], "AllowedMethods": ["GET"]}], "InvalidRequest"),
    ([{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ExposeHeaders": ["x-*"]}], "InvalidRequest"),
    ([{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101, "InvalidRequest"),
])
def test_invalid_configurations_are_refused(bucket, rules, code):
    s3, _, _ = bucket
    with pytest.raises(Exception) as e:
        s3.put_bucket_cors(Bucket=B, CORSConfiguration={"CORSRules": rules})
    assert code_of(e) == code


def test_malformed_xml_and_missing_md5(bucket, srv):  # noqa: F811
    from test_s3_copy_delete_tagging import raw as signed
    _, c, _ = bucket
    import base64
    import hashlib
    for body in (b"<CORSConfiguration/>", b"<CORSConfiguration><CORSRule>", b"not xml"):
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        st, out, _ = signed(srv, c, "PUT", f"/{B}?cors", body, {"Content-MD5": md5})
        assert st == 400 and b"<Code>MalformedXML</Code>" in out, out
    body = b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>" \
           b"</CORSRule></CORSConfiguration>"
    st, out, _ = signed(srv, c, "PUT", f"/{B}?cors", body)
    assert st == 400 and b"Content-MD5" in out, out


def test_another_buckets_key_is_denied(bucket, srv):  # noqa: F811
    _, c2 = make_bucket(srv, "cors-other")
    other = client(srv, c2["access_key_id"], c2["secret_access_key"])
    for call in (lambda: other.get_bucket_cors(Bucket=B),
                 lambda: other.put_bucket_cors(Bucket=B, CORSConfiguration={"CORSRules": RULES}),
                 lambda: other.delete_bucket_cors(Bucket=B)):
        with pytest.raises(Exception) as e:
            call()
        assert code_of(e) == "AccessDenied"


def test_preflight(bucket, srv):  # noqa: F811
    s3, _, _ = bucket
    s3.delete_bucket_cors(Bucket=B)
    st, body, h = preflight(srv, f"/{B}/k", "https://app.example.com", "PUT")
    assert st == 403 and b"<Code>CORSResponse</Code>" in body and b"CORS is not enabled for this bucket" in body
    assert "vary" not in h  # no configuration: the answer does not depend on the origin
    # A bucket that does not exist answers the same (nothing learnt without credentials).
    st, body, _ = preflight(srv, "/no-such-bucket/k", "https://app.example.com", "PUT")
    assert st == 403 and b"CORS is not enabled for this bucket" in body

    s3.put_bucket_cors(Bucket=B, CORSConfiguration={"CORSRules": RULES})
    st, body, h = preflight(srv, f"/{B}/some/key", "https://app.example.com", "PUT", "X-Amz-Date, content-type")
    assert st == 200, body
    assert h["access-control-allow-origin"] == "https://app.example.com"
    assert h["access-control-allow-methods"] == "GET, PUT, HEAD"
    assert h["access-control-allow-headers"] == "x-amz-date, content-type"
    assert h["access-control-max-age"] == "3000"
    assert h["access-control-expose-headers"] == "ETag, x-amz-request-id"
    assert h["access-control-allow-credentials"] == "true"
    assert h["vary"] == VARY
    # The wildcard rule: "*" and no credentials.
    st, _, h = preflight(srv, f"/{B}", "https://elsewhere.org", "GET")
    assert st == 200 and h["access-control-allow-origin"] == "*" and "access-control-allow-credentials" not in h
    # Not allowed: method, origin, or a header no rule allows.
    for origin, method, hdrs in (("https://elsewhere.org", "PUT", None), ("https://app.example.com", "DELETE", None),
                                 ("https://app.example.com", "PUT", "authorization"),
                                 ("http://app.example.com", "PUT", None)):
        st, body, h = preflight(srv, f"/{B}/k", origin, method, hdrs)
        assert st == 403 and b"This CORS request is not allowed" in body, (origin, method, hdrs)
        assert "access-control-allow-origin" not in h
        # Vary all the same (as S3): a cache must not hand this 403 to an origin a rule allows.
        assert h.get("vary") == VARY, (origin, method, hdrs, h)
    # Missing headers.
    st, body, _ = raw(srv, "OPTIONS", f"/{B}/k", {"Access-Control-Request-Method": "GET"})
    assert st == 400 and b"<Code>BadRequest</Code>" in body
    st, body, _ = raw(srv, "OPTIONS", f"/{B}/k", {"Origin": "https://a.example.com"})
    assert st == 400 and b"Access-Control-Request-Method" in body


def test_actual_requests_carry_cors_headers(bucket, srv):  # noqa: F811
    s3, _, _ = bucket
    s3.put_bucket_cors(Bucket=B, CORSConfiguration={"CORSRules": RULES})
    s3.put_object(Bucket=B, Key="hello.txt", Body=b"hi")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "hello.txt"}, ExpiresIn=300)
    path = url.split(str(srv.s3_port), 1)[1]
    st, body, h = raw(srv, "GET", path, {"Origin": "https://app.example.com"})
    assert st == 200 and body == b"hi"
    assert h["access-control-allow-origin"] == "https://app.example.com"
    assert h["access-control-expose-headers"] == "ETag, x-amz-request-id"
    assert "Origin" in h["vary"]
    # No Origin: no CORS headers.
    st, _, h = raw(srv, "GET", path, {})
    assert st == 200 and "access-control-allow-origin" not in h and "vary" not in h
    # Any origin may GET (the wildcard rule), but no rule allows it to DELETE: no CORS headers.
    st, _, h = raw(srv, "GET", path, {"Origin": "https://evil.org:8443"})
    assert st == 200 and h.get("access-control-allow-origin") == "*"
    st, _, h = raw(srv, "DELETE", path, {"Origin": "https://evil.org"})
    assert "access-control-allow-origin" not in h
    assert h.get("vary") == VARY  # no rule matched, but the answer still varies with the origin
    # Errors carry them too (a browser can read the S3 error).
    st, body, h = raw(srv, "GET", f"/{B}/missing", {"Origin": "https://app.example.com"})
    assert st == 403 and h["access-control-allow-origin"] == "https://app.example.com"
    sig = path[path.index("X-Amz-Signature=") + 16:][:64]
    bad = path.replace(sig, ("0" if sig[0] != "0" else "1") + sig[1:])
    st, body, h = raw(srv, "GET", bad, {"Origin": "https://app.example.com"})
    assert st == 403 and b"SignatureDoesNotMatch" in body
    assert h["access-control-allow-origin"] == "https://app.example.com"
    s3.delete_bucket_cors(Bucket=B)
    st, _, h = raw(srv, "GET", path, {"Origin": "https://app.example.com"})
    assert st == 200 and "access-control-allow-origin" not in h and "vary" not in h


def test_management_api_cors(bucket, srv):  # noqa: F811
    s3, _, b = bucket
    base = f"/storage/object-storage/buckets/{b['id']}/cors"
    api(srv, "DELETE", base)
    st, out = api(srv, "GET", base)
    assert st == 404, out
    rules = {"rules": [{"id": "web", "allowed_origins": ["https://app.example.com"], "allowed_methods": ["GET", "POST"],
                        "allowed_headers": ["*"], "expose_headers": ["ETag"], "max_age_seconds": 60}]}
    st, out = api(srv, "PUT", base, rules)
    assert st == 200, out
    assert out["rules"][0]["allowed_methods"] == ["GET", "POST"] and out["rules"][0]["max_age_seconds"] == 60
    st, out = api(srv, "GET", base)
    assert st == 200 and out["rules"][0]["id"] == "web"
    # The same configuration over S3, and in force at once (cache invalidated).
    got = s3.get_bucket_cors(Bucket=B)["CORSRules"]
    assert got == [{"ID": "web", "AllowedHeaders": ["*"], "AllowedMethods": ["GET", "POST"],
                    "AllowedOrigins": ["https://app.example.com"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60}]
    st, _, h = preflight(srv, f"/{B}/k", "https://app.example.com", "POST", "x-anything")
    assert st == 200 and h["access-control-allow-headers"] == "x-anything"
    for bad in ({"rules": []}, {"rules": [{"allowed_origins": ["*"]}]},
                {"rules": [{"allowed_origins": ["*"], "allowed_methods": ["TRACE"]}]},
                {"rules": [{"allowed_origins": ["*"], "allowed_methods": ["GET"], "max_age_seconds": -1}]},
                {"rules": [{"allowed_origins": ["*"], "allowed_methods": ["GET"], "colour": "red"}]}):
        st, out = api(srv, "PUT", base, bad)
        assert st == 422, (bad, out)
    st, _ = api(srv, "DELETE", base)
    assert st == 204
    st, _, h = preflight(srv, f"/{B}/k", "https://app.example.com", "POST")
    assert st == 403
    st, _ = api(srv, "GET", "/storage/object-storage/buckets/999999/cors")
    assert st == 404


def test_aws_cli_cors(bucket, srv):  # noqa: F811
    _, c, _ = bucket
    env = dict(os.environ, AWS_ACCESS_KEY_ID=c["access_key_id"], AWS_SECRET_ACCESS_KEY=c["secret_access_key"],
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    base = ["/usr/bin/aws", "--endpoint-url", f"http://127.0.0.1:{srv.s3_port}", "s3api"]
    cfg = json.dumps({"CORSRules": [{"AllowedOrigins": ["https://cli.example"], "AllowedMethods": ["GET"]}]})
    r = subprocess.run(base + ["put-bucket-cors", "--bucket", B, "--cors-configuration", cfg],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(base + ["get-bucket-cors", "--bucket", B], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and json.loads(r.stdout)["CORSRules"][0]["AllowedOrigins"] == ["https://cli.example"]


def test_bucket_deletion_drops_its_cors(srv):  # noqa: F811
    b, c = make_bucket(srv, "cors-gone")
    s3 = client(srv, c["access_key_id"], c["secret_access_key"])
    s3.put_bucket_cors(Bucket="cors-gone", CORSConfiguration={"CORSRules": RULES})
    assert preflight(srv, "/cors-gone/k", "https://a.example.com", "GET")[0] == 200
    st, _ = api(srv, "DELETE", f"/storage/object-storage/buckets/{b['id']}")
    assert st == 204
    assert preflight(srv, "/cors-gone/k", "https://a.example.com", "GET")[0] == 403
    b2, c2 = make_bucket(srv, "cors-gone")  # the same name again starts without CORS
    assert preflight(srv, "/cors-gone/k", "https://a.example.com", "GET")[0] == 403
