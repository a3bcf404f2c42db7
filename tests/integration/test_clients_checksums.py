"""What the SDKs' checksum defaults put on the wire, built here byte for byte so each case is
exact: x-amz-checksum-* carried as query parameters of a presigned URL (JS v3 >= 3.729 bakes
x-amz-checksum-crc32 and x-amz-sdk-checksum-algorithm into presigned PUT URLs), and the
aws-chunked trailer modes, unsigned and signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, as
minio-go over http with --checksum and the Java v2 SDK send it). The real JS v3 SDK drives the
unsigned trailer in test_clients_node.py; boto3 1.26 sends trailers only over https (botocore
httpchecksum: "we'll only use trailers over TLS"), a header checksum over http. Each trailer mode:
the checksum verified, stored and returned; a wrong value is BadDigest and a bad trailer signature
SignatureDoesNotMatch, and neither replaces the stored object."""
import base64
import hashlib
import hmac
import http.client
import time
import urllib.parse
import zlib

import botocore
import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from clients_util import start_target


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    t = start_target(tmp_path_factory, "sums-bucket")
    yield t
    assert t.srv.stop() == 0


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def presigned_put(t, key, extra_query):
    """A presigned PUT URL whose signed query also holds `extra_query` (x-amz-* parameters)."""
    url = f"{t.endpoint}/{t.bucket}/{urllib.parse.quote(key)}"
    if extra_query:
        url += "?" + urllib.parse.urlencode(extra_query)
    req = AWSRequest(method="PUT", url=url)
    S3SigV4QueryAuth(Credentials(t.ak, t.sk), "s3", "us-east-1", expires=300).add_auth(req)
    return req.prepare().url


def put_url(url, body):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("PUT", u.path + "?" + u.query, body=body)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


@pytest.mark.parametrize("in_query", [
    {"x-amz-checksum-crc32": "AAAAAA=="},  # what JS v3's presigner bakes in: the CRC32 of ""
    {"x-amz-checksum-crc32": "AAAAAA==", "x-amz-sdk-checksum-algorithm": "CRC32"},
])
def test_presigned_checksum_in_query_binds_the_body(target, in_query):
    # Regression: mamute used to ignore x-amz-checksum-* query parameters and stored any body.
    t = target
    s3 = t.boto3()
    s3.put_object(Bucket=t.bucket, Key="pre/q", Body=b"before")
    status, body = put_url(presigned_put(t, "pre/q", in_query), b"a body that is not empty")
    assert status == 400 and b"<Code>BadDigest</Code>" in body, body
    assert s3.get_object(Bucket=t.bucket, Key="pre/q")["Body"].read() == b"before"  # nothing stored
    # The matching checksum is accepted, stored and returned.
    good = {**in_query, "x-amz-checksum-crc32": crc32_b64(b"the right body")}
    status, body = put_url(presigned_put(t, "pre/q", good), b"the right body")
    assert status == 200, body
    o = s3.get_object(Bucket=t.bucket, Key="pre/q", ChecksumMode="ENABLED")
    assert o["Body"].read() == b"the right body" and o["ChecksumCRC32"] == good["x-amz-checksum-crc32"]


def test_presigned_malformed_checksum_in_query(target):
    t = target
    status, body = put_url(presigned_put(t, "pre/m", {"x-amz-checksum-crc32": "not base64"}), b"x")
    assert status == 400 and b"<Code>InvalidRequest</Code>" in body, body
    with pytest.raises(botocore.exceptions.ClientError):
        t.boto3().head_object(Bucket=t.bucket, Key="pre/m")


def test_presigned_sdk_algorithm_alone_computes_and_stores(target):
    t = target
    status, body = put_url(presigned_put(t, "pre/a", {"x-amz-sdk-checksum-algorithm": "CRC32"}), b"some bytes")
    assert status == 200, body
    o = target.boto3().head_object(Bucket=t.bucket, Key="pre/a", ChecksumMode="ENABLED")
    assert o["ChecksumCRC32"] == crc32_b64(b"some bytes")


# ------------------------------------------------------------------------------ aws-chunked trailers
# Built byte for byte after the AWS "sigv4-streaming-trailers" examples: the seed signature over
# the headers, each chunk signed with the previous signature, and for the signed mode a
# x-amz-trailer-signature over the trailer lines.

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256)


def chunked_put(t, key, data, mode, trailer_value, bad_trailer_signature=False, chunk=64 * 1024):
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    k = _hmac(("AWS4" + t.sk).encode(), amz_date[:8]).digest()
    for part in ("us-east-1", "s3", "aws4_request"):
        k = _hmac(k, part).digest()
    path = f"/{t.bucket}/{urllib.parse.quote(key)}"
    host = f"127.0.0.1:{t.srv.s3_port}"
    headers = {"content-encoding": "aws-chunked", "host": host, "x-amz-content-sha256": mode,
               "x-amz-date": amz_date, "x-amz-decoded-content-length": str(len(data)),
               "x-amz-trailer": "x-amz-checksum-crc32"}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["PUT", path, "", *(f"{h}:{headers[h]}" for h in sorted(headers)), "", signed, mode])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    prev = _hmac(k, sts).hexdigest()
    signed_chunks = mode == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    body = b""
    for piece in [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]:
        if signed_chunks:
            prev = _hmac(k, "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, EMPTY_SHA256,
                                       hashlib.sha256(piece).hexdigest()])).hexdigest()
            body += b"%x;chunk-signature=%s\r\n" % (len(piece), prev.encode())
        else:
            body += b"%x\r\n" % len(piece)
        if piece:
            body += piece + b"\r\n"
    body += f"x-amz-checksum-crc32:{trailer_value}\r\n".encode()
    if signed_chunks:
        sig = _hmac(k, "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev, hashlib.sha256(
            f"x-amz-checksum-crc32:{trailer_value}\n".encode()).hexdigest()])).hexdigest()
        if bad_trailer_signature:
            sig = sig[::-1]
        body += f"x-amz-trailer-signature:{sig}\r\n".encode()
    body += b"\r\n"
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={t.ak}/{scope}, SignedHeaders={signed}, "
                                f"Signature={_hmac(k, sts).hexdigest()}")
    headers["content-length"] = str(len(body))
    conn = http.client.HTTPConnection("127.0.0.1", t.srv.s3_port, timeout=10)
    conn.request("PUT", path, body=body, headers={h: v for h, v in headers.items() if h != "host"})
    r = conn.getresponse()
    out = (r.status, dict(r.getheaders()), r.read())
    conn.close()
    return out


MODES = ["STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"]


@pytest.mark.parametrize("mode", MODES)
def test_trailer_checksum_is_verified_stored_and_returned(target, mode):
    t = target
    data = bytes(range(256)) * 1000 + b"tail"
    status, headers, body = chunked_put(t, f"tr/{mode}", data, mode, crc32_b64(data))
    assert status == 200, body
    assert headers.get("x-amz-checksum-crc32") == crc32_b64(data)
    o = t.boto3().get_object(Bucket=t.bucket, Key=f"tr/{mode}", ChecksumMode="ENABLED")
    assert o["Body"].read() == data and o["ChecksumCRC32"] == crc32_b64(data)
    assert o["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()


@pytest.mark.parametrize("mode", MODES)
def test_corrupted_trailer_is_bad_digest_and_nothing_stored(target, mode):
    t = target
    s3 = t.boto3()
    s3.put_object(Bucket=t.bucket, Key=f"trc/{mode}", Body=b"kept")
    data = b"x" * 200000
    wrong = crc32_b64(data + b"!")  # well-formed, and for signed mode correctly signed, but wrong
    status, _, body = chunked_put(t, f"trc/{mode}", data, mode, wrong)
    assert status == 400 and b"<Code>BadDigest</Code>" in body, body
    assert s3.get_object(Bucket=t.bucket, Key=f"trc/{mode}")["Body"].read() == b"kept"


def test_signed_trailer_with_a_bad_trailer_signature_is_refused(target):
    t = target
    s3 = t.boto3()
    s3.put_object(Bucket=t.bucket, Key="trs", Body=b"kept")
    data = b"y" * 100000
    status, _, body = chunked_put(t, "trs", data, MODES[1], crc32_b64(data), bad_trailer_signature=True)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body, body
    assert s3.get_object(Bucket=t.bucket, Key="trs")["Body"].read() == b"kept"
