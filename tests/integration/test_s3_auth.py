"""S3 data plane with real clients: SigV4 authentication, bucket scoping, credential
lifecycle seen on the very next request, and the bucket/listing operations built so far.
Buckets and credentials are made through the management API, as the product's users do.

Uses Debian's boto3 (/usr/bin/python3) and the Debian aws CLI (/usr/bin/aws)."""
import os
import subprocess
import urllib.request

import boto3
import botocore
import pytest
from botocore.config import Config

from conftest import API_KEY, FAST_OPTIONS, MamuteServer, api, start_bootstrapped  # noqa: F401 (re-exported)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start_bootstrapped(tmp_path_factory, "s3auth", {}, API_KEY, "correct horse battery staple")
    yield s
    assert s.stop() == 0


def make_bucket(srv, name):
    st, b = api(srv, "POST", "/storage/object-storage/buckets", {"name": name, "storage_class": "Standard"})
    assert st == 201, b
    st, c = api(srv, "POST", f"/storage/object-storage/buckets/{b['id']}/credentials")
    assert st == 201, c
    return b, c


def client(srv, ak, sk):
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{srv.s3_port}", aws_access_key_id=ak,
                        aws_secret_access_key=sk, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                      signature_version="s3v4"))


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def two_buckets(srv):
    a, ca = make_bucket(srv, "alpha-bucket")
    b, cb = make_bucket(srv, "beta-bucket")
    return (a, ca), (b, cb)


def test_bucket_operations_with_a_scoped_key(srv, two_buckets):
    (a, ca), _ = two_buckets
    s3 = client(srv, ca["access_key_id"], ca["secret_access_key"])
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert names == ["alpha-bucket"]  # only the key's own bucket
    s3.head_bucket(Bucket="alpha-bucket")
    assert s3.get_bucket_location(Bucket="alpha-bucket").get("LocationConstraint") in (None, "")
    assert "Status" not in s3.get_bucket_versioning(Bucket="alpha-bucket")
    r = s3.list_objects_v2(Bucket="alpha-bucket")
    assert r["KeyCount"] == 0 and r["IsTruncated"] is False
    r = s3.list_objects(Bucket="alpha-bucket", Prefix="x/", Delimiter="/")
    assert r["IsTruncated"] is False and "Contents" not in r
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.create_bucket(Bucket="alpha-bucket")
    assert code_of(e) == "BucketAlreadyOwnedByYou"


def test_other_bucket_and_missing_bucket_are_denied(srv, two_buckets):
    (a, ca), (b, cb) = two_buckets
    s3 = client(srv, ca["access_key_id"], ca["secret_access_key"])
    for bucket in ("beta-bucket", "no-such-bucket-here"):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.list_objects_v2(Bucket=bucket)
        assert code_of(e) == "AccessDenied", bucket
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.create_bucket(Bucket="brand-new-bucket")
    assert code_of(e) == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_bucket(Bucket="alpha-bucket")
    assert code_of(e) == "AccessDenied"


def test_wrong_secret_and_unknown_key(srv, two_buckets):
    (a, ca), _ = two_buckets
    bad = client(srv, ca["access_key_id"], "x" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bad.list_objects_v2(Bucket="alpha-bucket")
    assert code_of(e) == "SignatureDoesNotMatch"
    err = e.value.response["Error"]
    assert "StringToSign" in err and "CanonicalRequest" in err
    assert e.value.response["ResponseMetadata"]["RequestId"] == \
        e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    unknown = client(srv, "MKUNKNOWNUNKNOWN0000", "y" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        unknown.list_objects_v2(Bucket="alpha-bucket")
    assert code_of(e) == "InvalidAccessKeyId"


def test_anonymous_request_is_denied(srv):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{srv.s3_port}/alpha-bucket", timeout=5)
        pytest.fail("anonymous request succeeded")
    except urllib.error.HTTPError as e:
        assert e.code == 403
        assert b"<Code>AccessDenied</Code>" in e.read()


def test_not_yet_implemented_operation_is_501_after_auth(srv, two_buckets):
    (a, ca), _ = two_buckets
    s3 = client(srv, ca["access_key_id"], ca["secret_access_key"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_bucket_tagging(Bucket="alpha-bucket")
    assert code_of(e) == "NotImplemented"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_credential_lifecycle_takes_effect_on_the_very_next_request(srv):
    b, c = make_bucket(srv, "lifecycle-bucket")
    ak, sk = c["access_key_id"], c["secret_access_key"]
    s3 = client(srv, ak, sk)
    s3.list_objects_v2(Bucket="lifecycle-bucket")
    base = f"/storage/object-storage/buckets/{b['id']}/credentials/{ak}"

    assert api(srv, "POST", base + "/deactivate")[0] in (200, 204)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_objects_v2(Bucket="lifecycle-bucket")
    assert code_of(e) == "InvalidAccessKeyId"

    assert api(srv, "POST", base + "/activate")[0] in (200, 204)
    s3.list_objects_v2(Bucket="lifecycle-bucket")

    st, r = api(srv, "POST", base + "/regenerate")
    assert st in (200, 201), r
    new_sk = r["secret_access_key"]
    assert new_sk != sk
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_objects_v2(Bucket="lifecycle-bucket")
    assert code_of(e) == "SignatureDoesNotMatch"
    client(srv, ak, new_sk).list_objects_v2(Bucket="lifecycle-bucket")

    assert api(srv, "DELETE", base)[0] == 204
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client(srv, ak, new_sk).list_objects_v2(Bucket="lifecycle-bucket")
    assert code_of(e) == "InvalidAccessKeyId"


def test_presigned_list_and_expiry(srv, two_buckets):
    (a, ca), _ = two_buckets
    s3 = client(srv, ca["access_key_id"], ca["secret_access_key"])
    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": "alpha-bucket"}, ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.status == 200 and b"<ListBucketResult" in r.read()
    tampered = url.replace("alpha-bucket", "beta-bucket")
    try:
        urllib.request.urlopen(tampered, timeout=5)
        pytest.fail("tampered presigned URL accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 403


@pytest.mark.skipif(not os.path.exists("/usr/bin/aws"), reason="Debian awscli not installed")
def test_aws_cli_lists_the_bucket(srv, two_buckets):
    (a, ca), _ = two_buckets
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ca["access_key_id"], AWS_SECRET_ACCESS_KEY=ca["secret_access_key"],
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    r = subprocess.run(["/usr/bin/aws", "--endpoint-url", f"http://127.0.0.1:{srv.s3_port}", "s3api",
                        "list-objects-v2", "--bucket", "alpha-bucket"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["/usr/bin/aws", "--endpoint-url", f"http://127.0.0.1:{srv.s3_port}", "s3", "ls"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and "alpha-bucket" in r.stdout, r.stderr


def test_no_secret_in_logs(srv, two_buckets):
    (a, ca), (b, cb) = two_buckets
    logs = srv.stdout_text() + srv.stderr_path.read_text(errors="replace")
    for secret in (ca["secret_access_key"], cb["secret_access_key"], API_KEY):
        assert secret not in logs
