"""POST policy browser uploads: boto3's generate_presigned_post and a real multipart/form-data
POST (built by hand, as a browser sends it): ${filename}, success_action_status and
_redirect, metadata, content-length-range, tampered and expired policies, the wrong bucket,
malformed forms — with S3's answers."""
import base64
import datetime
import hashlib
import hmac
import html
import http.client
import json
import os
import re

import pytest

from test_s3_auth import client, code_of, make_bucket, srv  # noqa: F401 (fixture)

B = "post-bucket"


@pytest.fixture(scope="module")
def bucket(srv):  # noqa: F811
    _, c = make_bucket(srv, B)
    return client(srv, c["access_key_id"], c["secret_access_key"]), c


def form_body(fields, filename="photo.jpg", data=b"", boundary="----mamuteFormBoundary7MA4YWxkTrZu0gW",
              file_type="image/jpeg"):
    out = b""
    for k, v in fields:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n").encode() + \
            (v if isinstance(v, bytes) else str(v).encode()) + b"\r\n"
    if filename is not None:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
                f"Content-Type: {file_type}\r\n\r\n").encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def post(srv, bucket, fields, data=b"", filename="photo.jpg", headers=None, body=None):  # noqa: F811
    if body is None:
        body, ctype = form_body(list(fields.items()) if isinstance(fields, dict) else fields, filename, data)
    else:
        ctype = "multipart/form-data; boundary=----mamuteFormBoundary7MA4YWxkTrZu0gW"
    conn = http.client.HTTPConnection("127.0.0.1", srv.s3_port, timeout=60)
    try:
        conn.request("POST", f"/{bucket}", body=body, headers={"Content-Type": ctype, **(headers or {})})
        r = conn.getresponse()
        return r.status, r.read(), {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()


def error_code(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


def test_presigned_post_with_filename(bucket, srv):  # noqa: F811
    s3, _ = bucket
    p = s3.generate_presigned_post(B, "uploads/${filename}", ExpiresIn=300)
    assert p["url"].endswith(f"/{B}")
    data = os.urandom(70000) + b"\r\n--" + os.urandom(100)  # boundary-like bytes inside the file
    st, body, h = post(srv, B, p["fields"], data, filename="holiday.jpg")
    assert st == 204, body
    assert h["etag"] == '"%s"' % hashlib.md5(data).hexdigest()
    assert h["location"].endswith(f"/{B}/uploads/holiday.jpg")
    got = s3.get_object(Bucket=B, Key="uploads/holiday.jpg")
    assert got["Body"].read() == data
    assert got["ContentType"] == "binary/octet-stream"


def test_large_upload_streams(bucket, srv):  # noqa: F811
    # Larger than the writer's window: the body is paused and resumed (backpressure).
    s3, _ = bucket
    p = s3.generate_presigned_post(B, "big/${filename}", ExpiresIn=300)
    data = os.urandom(12 << 20)
    st, body, h = post(srv, B, p["fields"], data, filename="big.bin")
    assert st == 204, body
    assert h["etag"] == '"%s"' % hashlib.md5(data).hexdigest()
    assert s3.get_object(Bucket=B, Key="big/big.bin")["Body"].read() == data


def test_status_metadata_and_content_type(bucket, srv):  # noqa: F811
    s3, _ = bucket
    fields = {"success_action_status": "201", "Content-Type": "text/plain", "x-amz-meta-color": "blue"}
    conds = [{"success_action_status": "201"}, ["starts-with", "$Content-Type", "text/"],
             {"x-amz-meta-color": "blue"}, ["content-length-range", 1, 100]]
    p = s3.generate_presigned_post(B, "docs/a.txt", Fields=fields, Conditions=conds, ExpiresIn=300)
    st, body, h = post(srv, B, p["fields"], b"hello")
    assert st == 201, body
    assert b"<Key>docs/a.txt</Key>" in body and b"<Bucket>post-bucket</Bucket>" in body
    assert ('<ETag>"%s"</ETag>' % hashlib.md5(b"hello").hexdigest()).encode() in body.replace(b"&quot;", b'"')
    o = s3.get_object(Bucket=B, Key="docs/a.txt")
    assert o["ContentType"] == "text/plain" and o["Metadata"] == {"color": "blue"} and o["Body"].read() == b"hello"

    p = s3.generate_presigned_post(B, "docs/b.txt", Fields={"success_action_status": "200"},
                                   Conditions=[{"success_action_status": "200"}], ExpiresIn=300)
    st, body, _ = post(srv, B, p["fields"], b"x")
    assert st == 200 and body == b""


def test_redirect(bucket, srv):  # noqa: F811
    s3, _ = bucket
    fields = {"success_action_redirect": "https://app.example.com/done?x=1"}
    p = s3.generate_presigned_post(B, "r.bin", Fields=fields,
                                   Conditions=[{"success_action_redirect": "https://app.example.com/done?x=1"}])
    st, _, h = post(srv, B, p["fields"], b"abc")
    assert st == 303
    assert h["location"].startswith("https://app.example.com/done?x=1&bucket=post-bucket&key=r.bin&etag=")


def test_content_length_range(bucket, srv):  # noqa: F811
    s3, _ = bucket
    p = s3.generate_presigned_post(B, "sized", Conditions=[["content-length-range", 10, 1000]], ExpiresIn=300)
    st, body, _ = post(srv, B, p["fields"], b"x" * 1001)
    assert st == 400 and error_code(body) == "EntityTooLarge", body
    st, body, _ = post(srv, B, p["fields"], b"x" * 9)
    assert st == 400 and error_code(body) == "EntityTooSmall", body
    with pytest.raises(Exception) as e:
        s3.head_object(Bucket=B, Key="sized")
    assert e.value.response["Error"]["Code"] in ("404", "NoSuchKey")
    # A large body over the limit is refused as it streams (the connection is closed after).
    st, body, _ = post(srv, B, p["fields"], b"y" * (3 << 20))
    assert st == 400 and error_code(body) == "EntityTooLarge"
    st, _, _ = post(srv, B, p["fields"], b"z" * 1000)
    assert st == 204


def test_policy_conditions_and_extra_fields(bucket, srv):  # noqa: F811
    s3, _ = bucket
    p = s3.generate_presigned_post(B, "fixed/key", ExpiresIn=300)
    f = dict(p["fields"])
    f["key"] = "other/key"
    st, body, _ = post(srv, B, f, b"d")
    assert st == 403 and error_code(body) == "AccessDenied"
    assert b"Invalid according to Policy: Policy Condition failed" in body
    f = dict(p["fields"])
    f["x-amz-meta-sneaky"] = "1"
    st, body, _ = post(srv, B, f, b"d")
    assert st == 403 and b"Extra input fields: x-amz-meta-sneaky" in body
    f = dict(p["fields"])
    f["x-ignore-this"] = "fine"
    st, body, _ = post(srv, B, f, b"d")
    assert st == 204, body


def test_tampered_and_expired_policy(bucket, srv):  # noqa: F811
    s3, c = bucket
    p = s3.generate_presigned_post(B, "t/${filename}", ExpiresIn=300)
    policy = json.loads(base64.b64decode(p["fields"]["policy"]))
    policy["conditions"] = [x for x in policy["conditions"] if not (isinstance(x, list) and x[1] == "$key")]
    f = dict(p["fields"])
    f["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()
    f["key"] = "anywhere"
    st, body, _ = post(srv, B, f, b"d")
    assert st == 403 and error_code(body) == "SignatureDoesNotMatch", body
    f = dict(p["fields"])
    f["x-amz-signature"] = "0" * 64
    st, body, _ = post(srv, B, f, b"d")
    assert st == 403 and error_code(body) == "SignatureDoesNotMatch"
    # Expired: a correctly signed policy whose expiration passed.
    p = s3.generate_presigned_post(B, "late", ExpiresIn=-10)
    st, body, _ = post(srv, B, p["fields"], b"d")
    assert st == 403 and b"Invalid according to Policy: Policy expired." in body, body
    # Unknown access key.
    f = dict(p["fields"])
    f["x-amz-credential"] = "AKIDUNKNOWN0000000000" + f["x-amz-credential"][len(c["access_key_id"]):]
    st, body, _ = post(srv, B, f, b"d")
    assert st == 403 and error_code(body) == "InvalidAccessKeyId"


def sign_policy(c, policy, date):
    def h(k, m):
        return hmac.new(k, m.encode(), hashlib.sha256).digest()
    k = h(h(h(h(("AWS4" + c["secret_access_key"]).encode(), date), "us-east-1"), "s3"), "aws4_request")
    b64 = base64.b64encode(json.dumps(policy).encode()).decode()
    return b64, hmac.new(k, b64.encode(), hashlib.sha256).hexdigest()


def test_wrong_bucket_is_denied(bucket, srv):  # noqa: F811
    s3, c = bucket
    _, c2 = make_bucket(srv, "post-other")
    # A key of this bucket signing an upload into another bucket: denied by the key's scope even
    # when the policy names that bucket.
    now = datetime.datetime.now(datetime.timezone.utc)
    date = now.strftime("%Y%m%d")
    cred = f"{c['access_key_id']}/{date}/us-east-1/s3/aws4_request"
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    policy = {"expiration": (now + datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
              "conditions": [{"bucket": "post-other"}, {"key": "x"}, {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                             {"x-amz-credential": cred}, {"x-amz-date": amz_date}]}
    b64, sig = sign_policy(c, policy, date)
    fields = {"key": "x", "x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": cred, "x-amz-date": amz_date,
              "policy": b64, "x-amz-signature": sig}
    st, body, _ = post(srv, "post-other", fields, b"d")
    assert st == 403 and error_code(body) == "AccessDenied", body
    st, body, _ = post(srv, "no-such-bucket", fields, b"d")
    assert st == 403 and error_code(body) == "AccessDenied", body
    # The same key and policy against its own bucket: the policy's bucket condition fails.
    st, body, _ = post(srv, B, fields, b"d")
    assert st == 403 and 'Policy Condition failed: {"bucket":"post-other"}' in html.unescape(body.decode()), body
    # The other bucket's own key works there.
    s3b = client(srv, c2["access_key_id"], c2["secret_access_key"])
    p = s3b.generate_presigned_post("post-other", "x")
    assert post(srv, "post-other", p["fields"], b"d")[0] == 204


def test_malformed_forms(bucket, srv):  # noqa: F811
    s3, _ = bucket
    p = s3.generate_presigned_post(B, "m", ExpiresIn=300)
    # No file part.
    st, body, _ = post(srv, B, p["fields"], filename=None)
    assert st == 400 and error_code(body) == "IncorrectNumberOfFilesInPostRequest"
    # The file before the key: the key is missing when the file starts.
    fields = [(k, v) for k, v in p["fields"].items() if k != "key"]
    st, body, _ = post(srv, B, fields, b"d")
    assert st == 400 and error_code(body) == "InvalidArgument" and "'key'" in html.unescape(body.decode())
    # No policy and no signature: anonymous uploads are refused.
    st, body, _ = post(srv, B, {"key": "anon"}, b"d")
    assert st == 403 and error_code(body) == "AccessDenied"
    # Fields before the file over 20 KiB.
    st, body, _ = post(srv, B, {**p["fields"], "x-ignore-pad": "p" * 30000}, b"d")
    assert st == 400 and error_code(body) == "MaxPostPreDataLengthExceededError"
    # Truncated body (no closing delimiter): nothing stored.
    whole, _ = form_body(list(p["fields"].items()), "f", b"data")
    st, body, _ = post(srv, B, None, body=whole[:-40])
    assert st == 400 and error_code(body) == "IncompleteBody", body
    with pytest.raises(Exception):
        s3.head_object(Bucket=B, Key="m")


def test_post_gets_cors_headers(bucket, srv):  # noqa: F811
    s3, _ = bucket
    s3.put_bucket_cors(Bucket=B, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://upload.example"], "AllowedMethods": ["POST"], "ExposeHeaders": ["ETag"]}]})
    p = s3.generate_presigned_post(B, "cors/${filename}")
    st, _, h = post(srv, B, p["fields"], b"abc", headers={"Origin": "https://upload.example"})
    assert st == 204 and h["access-control-allow-origin"] == "https://upload.example"
    assert h["access-control-expose-headers"] == "ETag"
    s3.delete_bucket_cors(Bucket=B)


def b64(raw):
    return base64.b64encode(raw).decode()


def checksum_post(s3, srv, key, fields, data):  # noqa: F811
    """A presigned POST whose policy names every extra field exactly (as a browser form sends it)."""
    p = s3.generate_presigned_post(B, key, Fields=fields, Conditions=[{k: v} for k, v in fields.items()],
                                   ExpiresIn=300)
    return post(srv, B, p["fields"], data)


def test_checksum_fields_are_verified_and_stored(bucket, srv):  # noqa: F811
    import zlib
    s3, _ = bucket
    data = os.urandom(3000) + b"\r\n--" + os.urandom(50)
    sha = b64(hashlib.sha256(data).digest())
    crc = b64(zlib.crc32(data).to_bytes(4, "big"))
    # A matching value: stored as the object's FULL_OBJECT checksum and echoed, as a PUT does.
    st, body, h = checksum_post(s3, srv, "ck/sha", {"x-amz-checksum-sha256": sha}, data)
    assert st == 204, body
    assert h["x-amz-checksum-sha256"] == sha and h["x-amz-checksum-type"] == "FULL_OBJECT"
    got = s3.head_object(Bucket=B, Key="ck/sha", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == sha
    st, body, h = checksum_post(s3, srv, "ck/crc", {"x-amz-checksum-crc32": crc, "success_action_status": "201"},
                                data)
    assert st == 201 and h["x-amz-checksum-crc32"] == crc, body
    assert s3.get_object(Bucket=B, Key="ck/crc", ChecksumMode="ENABLED")["ChecksumCRC32"] == crc
    # x-amz-checksum-algorithm alone: computed and stored.
    st, body, h = checksum_post(s3, srv, "ck/alg", {"x-amz-checksum-algorithm": "SHA256"}, data)
    assert st == 204 and h["x-amz-checksum-sha256"] == sha, body
    # A value that does not match the file: BadDigest, nothing stored.
    wrong = b64(hashlib.sha256(data + b"x").digest())
    st, body, _ = checksum_post(s3, srv, "ck/bad", {"x-amz-checksum-sha256": wrong}, data)
    assert st == 400 and error_code(body) == "BadDigest", body
    with pytest.raises(Exception) as e:
        s3.head_object(Bucket=B, Key="ck/bad")
    assert e.value.response["Error"]["Code"] in ("404", "NoSuchKey")
    # Malformed values, two algorithms, an algorithm that contradicts the value, an unknown algorithm.
    for fields in ({"x-amz-checksum-crc32": "not base64!"}, {"x-amz-checksum-crc32": b64(b"\0" * 5)},
                   {"x-amz-checksum-crc32": crc, "x-amz-checksum-sha256": sha},
                   {"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-sha256": sha},
                   {"x-amz-checksum-algorithm": "MD5"}):
        st, body, _ = checksum_post(s3, srv, "ck/invalid", fields, data)
        assert st == 400 and error_code(body) == "InvalidRequest", (fields, body)
    with pytest.raises(Exception):
        s3.head_object(Bucket=B, Key="ck/invalid")
    # Other x-amz-checksum-* fields are not implemented.
    st, body, _ = checksum_post(s3, srv, "ck/type", {"x-amz-checksum-type": "FULL_OBJECT"}, data)
    assert st == 501 and error_code(body) == "NotImplemented", body
    # Named by no policy condition: refused like any extra field, before the checksum is looked at.
    p = s3.generate_presigned_post(B, "ck/unsigned", ExpiresIn=300)
    st, body, _ = post(srv, B, {**p["fields"], "x-amz-checksum-sha256": sha}, data)
    assert st == 403 and error_code(body) == "AccessDenied", body
