"""CopyObject, DeleteObjects, conditional PUT, object tagging and GetObjectAttributes with real
clients: Debian's boto3 (/usr/bin/python3), raw SigV4-signed requests where boto3 1.26 has no
parameter (If-None-Match / If-Match on PUT), and the Debian aws CLI."""
import base64
import datetime
import hashlib
import http.client
import os
import subprocess
import threading

import botocore
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from test_s3_auth import api, client, code_of, make_bucket, srv  # noqa: F401 (fixture)

B = "copy-bucket"


@pytest.fixture(scope="module")
def bucket(srv):  # noqa: F811
    _, c = make_bucket(srv, B)
    return client(srv, c["access_key_id"], c["secret_access_key"]), c


def status_of(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def raw(srv, c, method, path, body=b"", headers=None):  # noqa: F811
    """A SigV4-signed request (signed payload) with headers boto3 1.26 cannot send."""
    req = AWSRequest(method=method, url=f"http://127.0.0.1:{srv.s3_port}{path}", data=body,
                     headers=dict(headers or {}))
    S3SigV4Auth(Credentials(c["access_key_id"], c["secret_access_key"]), "s3", "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", srv.s3_port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=dict(req.headers.items()))
        r = conn.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        conn.close()


def aws(srv, c, *args):  # noqa: F811
    env = dict(os.environ, AWS_ACCESS_KEY_ID=c["access_key_id"], AWS_SECRET_ACCESS_KEY=c["secret_access_key"],
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    return subprocess.run(["/usr/bin/aws", "--endpoint-url", f"http://127.0.0.1:{srv.s3_port}", *args],
                          capture_output=True, text=True, env=env, timeout=180)


def tags_of(s3, key):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=B, Key=key)["TagSet"]}


# ---------------------------------------------------------------- CopyObject

@pytest.mark.parametrize("size", [0, 5, 16 * 1024 + 1, 700 * 1024 + 3])
def test_copy_keeps_data_metadata_and_tags(bucket, size):
    s3, _ = bucket
    data = os.urandom(size)
    s3.put_object(Bucket=B, Key=f"src/{size}", Body=data, ContentType="text/x-test", Metadata={"Color": "Blue"},
                  CacheControl="max-age=5", Tagging="team=a&env=prod%20x")
    r = s3.copy_object(Bucket=B, Key=f"dst/{size}", CopySource=f"{B}/src/{size}")
    assert r["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    assert isinstance(r["CopyObjectResult"]["LastModified"], datetime.datetime)
    o = s3.get_object(Bucket=B, Key=f"dst/{size}")
    assert o["Body"].read() == data
    assert o["ContentType"] == "text/x-test" and o["Metadata"] == {"color": "Blue"}
    assert o["CacheControl"] == "max-age=5" and o["TagCount"] == 2
    assert tags_of(s3, f"dst/{size}") == {"team": "a", "env": "prod x"}
    # The source is untouched, and independent of the copy.
    s3.delete_object(Bucket=B, Key=f"dst/{size}")
    assert s3.get_object(Bucket=B, Key=f"src/{size}")["Body"].read() == data


def test_copy_replace_directives(bucket):
    s3, _ = bucket
    s3.put_object(Bucket=B, Key="rep/src", Body=b"payload", ContentType="a/b", Metadata={"old": "1"}, Tagging="t=1")
    s3.copy_object(Bucket=B, Key="rep/dst", CopySource={"Bucket": B, "Key": "rep/src"}, MetadataDirective="REPLACE",
                   ContentType="c/d", Metadata={"new": "2"}, TaggingDirective="REPLACE", Tagging="x=y&z=")
    o = s3.get_object(Bucket=B, Key="rep/dst")
    assert o["Body"].read() == b"payload"
    assert o["ContentType"] == "c/d" and o["Metadata"] == {"new": "2"}
    assert tags_of(s3, "rep/dst") == {"x": "y", "z": ""}
    # COPY tagging directive ignores x-amz-tagging; REPLACE without tags clears them.
    s3.copy_object(Bucket=B, Key="rep/dst2", CopySource=f"{B}/rep/src", Tagging="ignored=1")
    assert tags_of(s3, "rep/dst2") == {"t": "1"}
    s3.copy_object(Bucket=B, Key="rep/dst3", CopySource=f"{B}/rep/src", TaggingDirective="REPLACE")
    assert tags_of(s3, "rep/dst3") == {}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=B, Key="rep/dst4", CopySource=f"{B}/rep/src", MetadataDirective="MERGE")
    assert code_of(e) == "InvalidArgument"


def test_copy_onto_itself(bucket):
    s3, _ = bucket
    s3.put_object(Bucket=B, Key="self", Body=b"x" * 100000, Metadata={"a": "1"})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=B, Key="self", CopySource=f"{B}/self")
    assert code_of(e) == "InvalidRequest"
    s3.copy_object(Bucket=B, Key="self", CopySource=f"{B}/self", MetadataDirective="REPLACE", Metadata={"b": "2"})
    o = s3.get_object(Bucket=B, Key="self")
    assert o["Body"].read() == b"x" * 100000 and o["Metadata"] == {"b": "2"}


@pytest.mark.parametrize("key", ["plain", "with space/and+plus", "uni\u2713code", "q?mark&amp"])
def test_copy_source_encodings(srv, bucket, key):  # noqa: F811
    s3, c = bucket
    s3.put_object(Bucket=B, Key=f"enc/{key}", Body=key.encode())
    s3.copy_object(Bucket=B, Key="enc-dst/a", CopySource={"Bucket": B, "Key": f"enc/{key}"})
    assert s3.get_object(Bucket=B, Key="enc-dst/a")["Body"].read() == key.encode()
    # Raw header forms: leading slash, ?versionId=null.
    from urllib.parse import quote
    for src in (f"/{B}/{quote('enc/' + key)}", f"{B}/{quote('enc/' + key)}?versionId=null"):
        st, body, _ = raw(srv, c, "PUT", f"/{B}/enc-dst/b", headers={"x-amz-copy-source": src})
        assert st == 200, body
        assert b"<CopyObjectResult" in body
        assert s3.get_object(Bucket=B, Key="enc-dst/b")["Body"].read() == key.encode()
    st, body, _ = raw(srv, c, "PUT", f"/{B}/enc-dst/c", headers={"x-amz-copy-source": f"{B}/enc/plain?versionId=abc"})
    assert st == 404 and b"NoSuchVersion" in body
    st, body, _ = raw(srv, c, "PUT", f"/{B}/enc-dst/c", headers={"x-amz-copy-source": B})
    assert st == 400 and b"InvalidArgument" in body


def test_copy_missing_source(bucket):
    s3, _ = bucket
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=B, Key="x", CopySource=f"{B}/does-not-exist")
    assert code_of(e) == "NoSuchKey"


def test_copy_source_conditionals(bucket):
    s3, _ = bucket
    etag = s3.put_object(Bucket=B, Key="cs/src", Body=b"conditional")["ETag"]
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    failing = [{"CopySourceIfMatch": '"0123456789abcdef0123456789abcdef"'},
               {"CopySourceIfNoneMatch": etag},
               {"CopySourceIfModifiedSince": future},
               {"CopySourceIfUnmodifiedSince": past}]
    for kw in failing:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.copy_object(Bucket=B, Key="cs/dst", CopySource=f"{B}/cs/src", **kw)
        assert code_of(e) == "PreconditionFailed" and status_of(e) == 412, kw
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=B, Key="cs/dst")  # nothing was written
    passing = [{"CopySourceIfMatch": etag}, {"CopySourceIfNoneMatch": '"other"'},
               {"CopySourceIfModifiedSince": past}, {"CopySourceIfUnmodifiedSince": future},
               # If-Match true beats If-Unmodified-Since false (AWS).
               {"CopySourceIfMatch": etag, "CopySourceIfUnmodifiedSince": past}]
    for kw in passing:
        s3.copy_object(Bucket=B, Key="cs/dst", CopySource=f"{B}/cs/src", **kw)
    assert s3.get_object(Bucket=B, Key="cs/dst")["Body"].read() == b"conditional"


def test_copy_large_object_byte_exact(srv, bucket):  # noqa: F811
    s3, _ = bucket
    data = os.urandom(40 * 1024 * 1024 + 17)
    s3.put_object(Bucket=B, Key="big/src", Body=data)
    rss_before = srv.status_field("VmRSS")
    r = s3.copy_object(Bucket=B, Key="big/dst", CopySource=f"{B}/big/src")
    assert r["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    # Streamed through the ring: the copy does not hold the object in memory.
    assert srv.status_field("VmRSS") - rss_before < 30 * 1024
    got = s3.get_object(Bucket=B, Key="big/dst")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "big/src"}, {"Key": "big/dst"}]})


def test_copy_keeps_or_computes_checksum(bucket):
    s3, _ = bucket
    data = b"checksummed body" * 1000
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    s3.put_object(Bucket=B, Key="ck/src", Body=data, ChecksumAlgorithm="SHA256")
    r = s3.copy_object(Bucket=B, Key="ck/dst", CopySource=f"{B}/ck/src")
    assert r["CopyObjectResult"].get("ChecksumSHA256") == sha
    o = s3.get_object(Bucket=B, Key="ck/dst", ChecksumMode="ENABLED")
    assert o["ChecksumSHA256"] == sha and o["Body"].read() == data
    s3.put_object(Bucket=B, Key="ck/plain", Body=data)
    r = s3.copy_object(Bucket=B, Key="ck/dst2", CopySource=f"{B}/ck/plain", ChecksumAlgorithm="SHA256")
    assert r["CopyObjectResult"].get("ChecksumSHA256") == sha


def test_cross_bucket_copy_denied_for_a_bucket_scoped_key(srv, bucket):  # noqa: F811
    s3, _ = bucket
    _, oc = make_bucket(srv, "copy-other")
    other = client(srv, oc["access_key_id"], oc["secret_access_key"])
    other.put_object(Bucket="copy-other", Key="secret", Body=b"secret")
    s3.put_object(Bucket=B, Key="mine", Body=b"mine")
    calls = [lambda: s3.copy_object(Bucket=B, Key="stolen", CopySource="copy-other/secret"),
             lambda: s3.copy_object(Bucket=B, Key="stolen", CopySource="no-such-bucket-x/secret"),
             lambda: s3.copy_object(Bucket="copy-other", Key="pushed", CopySource=f"{B}/mine"),
             lambda: other.copy_object(Bucket="copy-other", Key="pulled", CopySource=f"{B}/mine")]
    for call in calls:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert code_of(e) == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=B, Key="stolen")
    with pytest.raises(botocore.exceptions.ClientError):
        other.head_object(Bucket="copy-other", Key="pulled")
    # Within its own bucket the other key copies fine.
    other.copy_object(Bucket="copy-other", Key="secret2", CopySource="copy-other/secret")


# ---------------------------------------------------------------- conditional PUT

def test_conditional_put(srv, bucket):  # noqa: F811
    s3, c = bucket
    st, body, h = raw(srv, c, "PUT", f"/{B}/cp/a", b"first", {"If-None-Match": "*"})
    assert st == 200, body
    etag = h["ETag"]
    st, body, _ = raw(srv, c, "PUT", f"/{B}/cp/a", b"second", {"If-None-Match": "*"})
    assert st == 412 and b"PreconditionFailed" in body
    st, body, _ = raw(srv, c, "PUT", f"/{B}/cp/a", b"third", {"If-Match": '"0123456789abcdef0123456789abcdef"'})
    assert st == 412
    st, body, _ = raw(srv, c, "PUT", f"/{B}/cp/missing", b"x", {"If-Match": etag})
    assert st == 412
    assert s3.get_object(Bucket=B, Key="cp/a")["Body"].read() == b"first"
    st, body, _ = raw(srv, c, "PUT", f"/{B}/cp/a", b"fourth", {"If-Match": etag})
    assert st == 200, body
    assert s3.get_object(Bucket=B, Key="cp/a")["Body"].read() == b"fourth"
    st, body, _ = raw(srv, c, "PUT", f"/{B}/cp/a", b"fifth", {"If-None-Match": etag})
    assert st == 501  # AWS accepts only '*' on writes
    # The destination of a copy takes the same conditions.
    st, body, _ = raw(srv, c, "PUT", f"/{B}/cp/a", b"", {"x-amz-copy-source": f"{B}/cp/a",
                                                        "x-amz-metadata-directive": "REPLACE",
                                                        "If-None-Match": "*"})
    assert st == 412, body


def test_concurrent_if_none_match_exactly_one_wins(srv, bucket):  # noqa: F811
    s3, c = bucket
    n = 8
    results = [None] * n
    bodies = [os.urandom(50000 + i) for i in range(n)]
    start = threading.Barrier(n)

    def put(i):
        start.wait()
        results[i] = raw(srv, c, "PUT", f"/{B}/race/key", bodies[i], {"If-None-Match": "*"})[0]

    threads = [threading.Thread(target=put, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [412] * (n - 1), results
    winner = results.index(200)
    assert s3.get_object(Bucket=B, Key="race/key")["Body"].read() == bodies[winner]


# ---------------------------------------------------------------- DeleteObjects

def test_delete_objects(bucket):
    s3, _ = bucket
    for i in range(5):
        s3.put_object(Bucket=B, Key=f"del/{i}", Body=os.urandom(20000 * i))
    r = s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "del/0"}, {"Key": "del/1"}, {"Key": "del/missing"},
                                                        {"Key": "del/2", "VersionId": "null"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["del/0", "del/1", "del/2", "del/missing"]
    assert not r.get("Errors")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=B, Prefix="del/").get("Contents", [])]
    assert keys == ["del/3", "del/4"]
    r = s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "del/3"}, {"Key": "del/4", "VersionId": "v123"}],
                                            "Quiet": True})
    assert not r.get("Deleted")
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [("del/4", "NoSuchVersion")]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=B, Prefix="del/").get("Contents", [])]
    assert keys == ["del/4"]


def test_delete_objects_limits(srv, bucket):  # noqa: F811
    s3, c = bucket
    r = s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": f"many/{i}"} for i in range(1000)]})
    assert len(r["Deleted"]) == 1000
    body = ("<Delete>" + "".join(f"<Object><Key>k{i}</Key></Object>" for i in range(1001)) + "</Delete>").encode()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    st, resp, _ = raw(srv, c, "POST", f"/{B}?delete", body, {"Content-MD5": md5})
    assert st == 400 and b"MalformedXML" in resp
    body = b"<Delete><Object><Key>a</Key></Object></Delete>"
    st, resp, _ = raw(srv, c, "POST", f"/{B}?delete", body)
    assert st == 400 and b"InvalidRequest" in resp and b"Content-MD5" in resp
    st, resp, _ = raw(srv, c, "POST", f"/{B}?delete", body, {"Content-MD5": base64.b64encode(b"0" * 16).decode()})
    assert st == 400 and b"BadDigest" in resp
    crc = base64.b64encode(b"\0\0\0\0").decode()
    st, resp, _ = raw(srv, c, "POST", f"/{B}?delete", body, {"x-amz-checksum-crc32": crc})
    assert st == 400 and b"BadDigest" in resp
    st, resp, _ = raw(srv, c, "POST", f"/{B}?delete", b"<Delete>", {"Content-MD5": base64.b64encode(
        hashlib.md5(b"<Delete>").digest()).decode()})
    assert st == 400 and b"MalformedXML" in resp


def test_delete_objects_other_bucket_denied(srv, bucket):  # noqa: F811
    s3, _ = bucket
    _, oc = make_bucket(srv, "del-other")
    other = client(srv, oc["access_key_id"], oc["secret_access_key"])
    other.put_object(Bucket="del-other", Key="keep", Body=b"k")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_objects(Bucket="del-other", Delete={"Objects": [{"Key": "keep"}]})
    assert code_of(e) == "AccessDenied"
    assert other.get_object(Bucket="del-other", Key="keep")["Body"].read() == b"k"


# ---------------------------------------------------------------- tagging

def test_object_tagging_roundtrip(bucket):
    s3, _ = bucket
    s3.put_object(Bucket=B, Key="tag/a", Body=b"tagged", Tagging="k1=v1")
    assert tags_of(s3, "tag/a") == {"k1": "v1"}
    assert s3.get_object(Bucket=B, Key="tag/a")["TagCount"] == 1
    s3.put_object_tagging(Bucket=B, Key="tag/a", Tagging={"TagSet": [{"Key": "a b", "Value": "c&d"},
                                                                     {"Key": "\u2713", "Value": ""}]})
    assert tags_of(s3, "tag/a") == {"a b": "c&d", "\u2713": ""}
    o = s3.get_object(Bucket=B, Key="tag/a")
    assert o["TagCount"] == 2 and o["Body"].read() == b"tagged"
    s3.delete_object_tagging(Bucket=B, Key="tag/a")
    assert tags_of(s3, "tag/a") == {}
    assert "TagCount" not in s3.get_object(Bucket=B, Key="tag/a")
    s3.put_object(Bucket=B, Key="tag/a", Body=b"replaced")  # a new PUT without tags has none
    assert tags_of(s3, "tag/a") == {}


def test_object_tagging_errors(bucket):
    s3, _ = bucket
    s3.put_object(Bucket=B, Key="tag/e", Body=b"e")
    bad = [[{"Key": f"k{i}", "Value": "v"} for i in range(11)],
           [{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}],
           [{"Key": "k" * 129, "Value": "v"}],
           [{"Key": "k", "Value": "v" * 257}],
           [{"Key": "aws:reserved", "Value": "v"}]]
    for tagset in bad:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.put_object_tagging(Bucket=B, Key="tag/e", Tagging={"TagSet": tagset})
        assert code_of(e) == "InvalidTag", tagset
    s3.put_object_tagging(Bucket=B, Key="tag/e", Tagging={"TagSet": [{"Key": "k" * 128, "Value": "v" * 256}]})
    for tagging in ("a=1&a=2", "&".join(f"k{i}=v" for i in range(11))):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.put_object(Bucket=B, Key="tag/e2", Body=b"x", Tagging=tagging)
        assert code_of(e) == "InvalidTag"
    for call in (lambda: s3.get_object_tagging(Bucket=B, Key="tag/none"),
                 lambda: s3.put_object_tagging(Bucket=B, Key="tag/none", Tagging={"TagSet": []}),
                 lambda: s3.delete_object_tagging(Bucket=B, Key="tag/none")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert code_of(e) == "NoSuchKey"


# ---------------------------------------------------------------- GetObjectAttributes

def test_get_object_attributes(bucket):
    s3, _ = bucket
    data = b"attributes" * 5000
    s3.put_object(Bucket=B, Key="attr/a", Body=data, ChecksumAlgorithm="CRC32")
    r = s3.get_object_attributes(Bucket=B, Key="attr/a",
                                 ObjectAttributes=["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"])
    assert r["ETag"] == hashlib.md5(data).hexdigest()
    assert r["ObjectSize"] == len(data) and r["StorageClass"] == "STANDARD"
    assert "ChecksumCRC32" in r["Checksum"]
    assert "ObjectParts" not in r  # a single PUT has no parts
    assert isinstance(r["LastModified"], datetime.datetime)
    r = s3.get_object_attributes(Bucket=B, Key="attr/a", ObjectAttributes=["ObjectSize"])
    assert r["ObjectSize"] == len(data) and "ETag" not in r
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object_attributes(Bucket=B, Key="attr/missing", ObjectAttributes=["ETag"])
    assert code_of(e) == "NoSuchKey"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object_attributes(Bucket=B, Key="attr/a", ObjectAttributes=["Bogus"])
    assert code_of(e) == "InvalidArgument"


# ---------------------------------------------------------------- aws CLI

@pytest.mark.skipif(not os.path.exists("/usr/bin/aws"), reason="Debian awscli not installed")
def test_aws_cli_server_side_copy_and_recursive_rm(srv, bucket, tmp_path):  # noqa: F811
    s3, c = bucket
    data = os.urandom(3 * 1024 * 1024 + 1)
    s3.put_object(Bucket=B, Key="cli/x", Body=data)
    r = aws(srv, c, "s3", "cp", f"s3://{B}/cli/x", f"s3://{B}/cli/y")
    assert r.returncode == 0, r.stderr
    assert s3.get_object(Bucket=B, Key="cli/y")["Body"].read() == data
    for i in range(30):
        s3.put_object(Bucket=B, Key=f"cli/tree/{i % 3}/{i}", Body=b"t")
    r = aws(srv, c, "s3", "rm", "--recursive", f"s3://{B}/cli/")
    assert r.returncode == 0, r.stderr
    assert "Contents" not in s3.list_objects_v2(Bucket=B, Prefix="cli/")
