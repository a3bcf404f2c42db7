"""What the SDKs' checksum defaults put on the wire, built here byte for byte so each case is
exact: x-amz-checksum-* carried as query parameters of a presigned URL (JS v3 >= 3.729 bakes
x-amz-checksum-crc32 and x-amz-sdk-checksum-algorithm into presigned PUT URLs), and the
aws-chunked trailer modes, unsigned and signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, as
minio-go over http with --checksum and the Java v2 SDK send it). The real JS v3 SDK drives the
unsigned trailer in test_clients_node.py; boto3 1.26 sends trailers only over https (botocore
httpchecksum: "we'll only use trailers over TLS"), a header checksum over http."""
import base64
import hashlib
import hmac
import http.client
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
