"""Projects and project-scoped S3 credentials (issue 9): POST/GET /projects, the project
credential routes, isolation of two projects (management API and S3), CreateBucket and
DeleteBucket over S3 with a project-scoped key, cross-bucket CopyObject, ListObjectVersions,
DeleteObjects with VersionId null, and RequestId = x-amz-request-id on S3 errors. Real clients:
Debian's boto3, raw SigV4 requests, and the Debian aws CLI."""
import json
import re
import time
import xml.etree.ElementTree as ET

import botocore
import pytest

from conftest import api as call, start_bootstrapped
from test_s3_auth import client, code_of
from test_s3_copy_delete_tagging import aws, raw

API_KEY = "mk_test_" + "p" * 32
PASSWORD = "correct horse battery staple"
CREDS = "/storage/object-storage/credentials"
BUCKETS = "/storage/object-storage/buckets"
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    # Two data shards: a credential change must be seen by the next request on each.
    s = start_bootstrapped(tmp_path_factory, "projects", {"data-cores": 2}, API_KEY, PASSWORD)
    yield s
    assert s.stop() == 0
    logs = s.stderr_path.read_text(errors="replace") + s.stdout_path.read_text(errors="replace")
    assert not [x for x in s.secrets if x in logs], "a secret reached the server logs"


def login(srv):
    st, d = call(srv, "POST", "/auth/login", {"email": "admin@localhost", "password": PASSWORD}, key=None)
    assert st == 200, d
    srv.secrets += [d["access_token"], d["refresh_token"]]
    return d["access_token"]


def project_key(srv, c):
    return client(srv, c["access_key_id"], c["secret_access_key"])


@pytest.fixture(scope="module")
def tenants(srv):
    """Project A (the bootstrap one, API_KEY) and project B (created by the admin), each with a
    project-scoped S3 credential."""
    token = login(srv)
    st, b = call(srv, "POST", "/projects", {"name": "tenant-b"}, token=token)
    assert st == 201, b
    srv.secrets.append(b["api_key"])
    st, ca = call(srv, "POST", CREDS)
    assert st == 201, ca
    st, cb = call(srv, "POST", CREDS, key=b["api_key"])
    assert st == 201, cb
    srv.secrets += [ca["secret_access_key"], cb["secret_access_key"]]
    return {"token": token, "b": b, "ca": ca, "cb": cb, "s3a": project_key(srv, ca), "s3b": project_key(srv, cb)}


def bucket_ids(srv, key=API_KEY):
    st, d = call(srv, "GET", BUCKETS, key=key)
    assert st == 200, d
    return {b["name"]: b["id"] for b in d["items"]}


def data_files(srv):
    return {p.name for p in (srv.data_dir / "objects").rglob("*") if p.is_file()}


# ---------------------------------------------------------------- management: projects

def test_projects_create_and_list(srv, tenants):
    token, b = tenants["token"], tenants["b"]
    assert re.fullmatch(r"prj_[0-9a-f]{16}", b["id"]) and b["name"] == "tenant-b" and b["api_key"]
    st, d = call(srv, "GET", "/projects", token=token)
    assert st == 200
    names = {p["name"]: p for p in d["items"]}
    assert set(names) == {"default", "tenant-b"}
    assert all("api_key" not in p for p in d["items"])  # shown once, at creation
    assert names["tenant-b"]["org_id"] == names["default"]["org_id"]
    # An API key sees its own project only.
    st, d = call(srv, "GET", "/projects", key=b["api_key"])
    assert st == 200 and [p["id"] for p in d["items"]] == [b["id"]]
    # Same name in the organization: 409; bad names: 422.
    st, d = call(srv, "POST", "/projects", {"name": "tenant-b"}, token=token)
    assert st == 409 and d["error"]["code"] == "conflict"
    for body in ({}, {"name": ""}, {"name": 7}, {"name": "a\nb"}, {"name": "x" * 101}):
        st, d = call(srv, "POST", "/projects", body, token=token)
        assert st == 422 and d["error"]["code"] == "validation_failed", body


def test_projects_need_an_admin_user_token(srv, tenants):
    for key in (API_KEY, tenants["b"]["api_key"]):
        st, d = call(srv, "POST", "/projects", {"name": "by-api-key"}, key=key)
        assert st == 403 and d["error"]["code"] == "forbidden"
    st, d = call(srv, "POST", "/projects", {"name": "anonymous"}, key=None)
    assert st == 401
    st, _ = call(srv, "DELETE", "/projects", token=tenants["token"])
    assert st == 405


def test_new_project_api_key_starts_empty_and_manages_its_own_buckets(srv, tenants):
    kb = tenants["b"]["api_key"]
    st, d = call(srv, "POST", BUCKETS, {"name": "b-mgmt-bucket"}, key=kb)
    assert st == 201, d
    assert "b-mgmt-bucket" in bucket_ids(srv, kb)
    assert "b-mgmt-bucket" not in bucket_ids(srv)
    # Rotation works per project and does not touch the other project's key.
    st, d = call(srv, "POST", "/security/apikey", key=kb)
    assert st == 200 and d["project_id"] == tenants["b"]["id"]
    srv.secrets.append(d["api_key"])
    assert call(srv, "GET", BUCKETS, key=kb)[0] == 401
    tenants["b"]["api_key"] = d["api_key"]
    assert call(srv, "GET", BUCKETS)[0] == 200


def test_isolation_in_the_management_api(srv, tenants):
    kb = tenants["b"]["api_key"]
    st, a_bucket = call(srv, "POST", BUCKETS, {"name": "a-private"})
    assert st == 201
    st, a_cred = call(srv, "POST", f"{BUCKETS}/{a_bucket['id']}/credentials")
    assert st == 201
    srv.secrets.append(a_cred["secret_access_key"])
    aid, aak, pak = a_bucket["id"], a_cred["access_key_id"], tenants["ca"]["access_key_id"]
    # Another project's ids answer 404, exactly like missing ones.
    for method, path in [("GET", f"{BUCKETS}/{aid}"), ("DELETE", f"{BUCKETS}/{aid}"),
                         ("GET", f"{BUCKETS}/{aid}/credentials"), ("POST", f"{BUCKETS}/{aid}/credentials"),
                         ("GET", f"{BUCKETS}/{aid}/files"),
                         ("POST", f"{BUCKETS}/{aid}/credentials/{aak}/deactivate"),
                         ("POST", f"{CREDS}/{aak}/deactivate"), ("POST", f"{CREDS}/{pak}/regenerate"),
                         ("POST", f"{CREDS}/{pak}/activate"), ("DELETE", f"{CREDS}/{pak}")]:
        st, d = call(srv, method, path, key=kb)
        assert st == 404 and d["error"]["code"] == "not_found", (method, path, d)
    st, d = call(srv, "GET", CREDS, key=kb)
    listed = {c["access_key_id"] for c in d["items"]}
    assert aak not in listed and pak not in listed and tenants["cb"]["access_key_id"] in listed
    # A name is global: another project cannot take it.
    st, d = call(srv, "POST", BUCKETS, {"name": "a-private"}, key=kb)
    assert st == 409
    # Project A's credential still works.
    s3 = client(srv, aak, a_cred["secret_access_key"])
    s3.put_object(Bucket="a-private", Key="k", Body=b"x")


def test_project_credential_routes_and_scope_listing(srv, tenants):
    st, c = call(srv, "POST", CREDS, {})
    assert st == 201
    srv.secrets.append(c["secret_access_key"])
    assert c["scope"] == "project" and c["bucket_id"] is None and c["status"] == "active"
    assert re.fullmatch(r"[A-Z0-9]{20}", c["access_key_id"]) and len(c["secret_access_key"]) == 40
    ak = c["access_key_id"]
    st, lst = call(srv, "GET", CREDS)
    assert st == 200
    by_ak = {x["access_key_id"]: x for x in lst["items"]}
    assert "secret_access_key" not in by_ak[ak] and by_ak[ak]["scope"] == "project"
    # Bucket-scoped credentials of the project's buckets are listed too, with their scope.
    bucket_scoped = [x for x in lst["items"] if x["scope"] == "bucket"]
    assert bucket_scoped and all(re.fullmatch(r"[0-9a-f]{16}", x["bucket_id"]) for x in bucket_scoped)
    s3 = client(srv, ak, c["secret_access_key"])
    s3.list_buckets()
    # Deactivate: the very next request fails (on whichever shard it lands), then activate.
    st, d = call(srv, "POST", f"{CREDS}/{ak}/deactivate")
    assert st == 200 and d["status"] == "inactive" and d["scope"] == "project"
    for _ in range(4):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.list_buckets()
        assert code_of(e) == "InvalidAccessKeyId"
    st, d = call(srv, "POST", f"{CREDS}/{ak}/activate")
    assert st == 200 and d["status"] == "active"
    for _ in range(4):
        s3.list_buckets()
    # Regenerate: the old secret stops working, the new one works.
    st, d = call(srv, "POST", f"{CREDS}/{ak}/regenerate")
    assert st == 200 and d["secret_access_key"] != c["secret_access_key"]
    srv.secrets.append(d["secret_access_key"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_buckets()
    assert code_of(e) == "SignatureDoesNotMatch"
    s3 = client(srv, ak, d["secret_access_key"])
    s3.list_buckets()
    # Delete: gone from S3 and from the listing; a second delete is 404.
    assert call(srv, "DELETE", f"{CREDS}/{ak}")[0] == 204
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_buckets()
    assert code_of(e) == "InvalidAccessKeyId"
    assert ak not in {x["access_key_id"] for x in call(srv, "GET", CREDS)[1]["items"]}
    assert call(srv, "DELETE", f"{CREDS}/{ak}")[0] == 404
    # Shapes: a malformed key id is 404, a wrong method 405, an unknown action 404.
    assert call(srv, "POST", f"{CREDS}/not-a-key/activate")[0] == 404
    assert call(srv, "GET", f"{CREDS}/{ak}")[0] == 405
    assert call(srv, "PUT", CREDS)[0] == 405
    assert call(srv, "POST", f"{CREDS}/{ak}/explode")[0] == 404


def test_secrets_are_sealed_at_rest(srv, tenants):
    # The project API key is stored as a hash and the S3 secret sealed: neither is in the
    # metadata files in the clear.
    blob = b"".join(p.read_bytes() for p in (srv.data_dir / "meta").rglob("*") if p.is_file())
    assert tenants["b"]["api_key"].encode() not in blob
    assert tenants["cb"]["secret_access_key"].encode() not in blob


# ---------------------------------------------------------------- S3: buckets of a project key

def test_create_bucket_rules(srv, tenants):
    s3a, s3b = tenants["s3a"], tenants["s3b"]
    r = s3a.create_bucket(Bucket="a-made-by-s3")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200 and r["Location"] == "/a-made-by-s3"
    # It shows up in the management API, like any other bucket of the project.
    st, d = call(srv, "GET", f"{BUCKETS}/{bucket_ids(srv)['a-made-by-s3']}")
    assert st == 200 and d["storage_class"] == "STANDARD" and d["region"] == "us-east-1"
    s3a.put_object(Bucket="a-made-by-s3", Key="keep", Body=b"kept")
    # Re-creating one's own bucket: 200 (us-east-1), objects untouched.
    r = s3a.create_bucket(Bucket="a-made-by-s3")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3a.get_object(Bucket="a-made-by-s3", Key="keep")["Body"].read() == b"kept"
    # Taken by another project: 409 BucketAlreadyExists; the owner's bucket is untouched.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3b.create_bucket(Bucket="a-made-by-s3")
    assert code_of(e) == "BucketAlreadyExists" and e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert s3a.get_object(Bucket="a-made-by-s3", Key="keep")["Body"].read() == b"kept"
    # S3's naming rules.
    for bad in ("ab", "Upper-Case", "under_score", "192.168.5.4", "xn--punycode", "dot..dot", "-leading",
                "a" * 64, "name-s3alias"):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3a.create_bucket(Bucket=bad)
        assert code_of(e) == "InvalidBucketName", bad
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # A LocationConstraint other than us-east-1 is refused; us-east-1 itself is accepted.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3a.create_bucket(Bucket="a-elsewhere", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code_of(e) == "InvalidArgument"
    body = (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>")
    st, _, _ = raw(srv, tenants["ca"], "PUT", "/a-configured", body)
    assert st == 200
    assert "a-configured" in bucket_ids(srv)


def test_create_bucket_with_a_bucket_scoped_key_is_still_denied(srv, tenants):
    st, b = call(srv, "POST", BUCKETS, {"name": "a-scoped-only"})
    st, c = call(srv, "POST", f"{BUCKETS}/{b['id']}/credentials")
    srv.secrets.append(c["secret_access_key"])
    s3 = client(srv, c["access_key_id"], c["secret_access_key"])
    for call_ in (lambda: s3.create_bucket(Bucket="a-scoped-new"), lambda: s3.delete_bucket(Bucket="a-scoped-only")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call_()
        assert code_of(e) == "AccessDenied"
    assert [x["Name"] for x in s3.list_buckets()["Buckets"]] == ["a-scoped-only"]


def test_list_buckets_of_a_project(srv, tenants):
    s3b = tenants["s3b"]
    for n in ("b-zeta", "b-alpha", "b-mid"):
        s3b.create_bucket(Bucket=n)
    names = [x["Name"] for x in s3b.list_buckets()["Buckets"]]
    assert names == sorted(names)
    assert {"b-zeta", "b-alpha", "b-mid", "b-mgmt-bucket"} <= set(names)
    assert not [n for n in names if not n.startswith("b-")]  # nothing of project A
    names_a = [x["Name"] for x in tenants["s3a"].list_buckets()["Buckets"]]
    assert "a-made-by-s3" in names_a and not [n for n in names_a if n.startswith("b-")]


def test_delete_bucket(srv, tenants):
    s3 = tenants["s3a"]
    s3.create_bucket(Bucket="a-doomed")
    s3.put_object(Bucket="a-doomed", Key="obj", Body=b"1")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_bucket(Bucket="a-doomed")
    assert code_of(e) == "BucketNotEmpty" and e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    s3.delete_object(Bucket="a-doomed", Key="obj")
    r = s3.delete_bucket(Bucket="a-doomed")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_bucket(Bucket="a-doomed")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "a-doomed" not in bucket_ids(srv)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_bucket(Bucket="a-doomed")
    assert code_of(e) == "NoSuchBucket"
    # The name is free again, for any project.
    tenants["s3b"].create_bucket(Bucket="a-doomed")
    tenants["s3b"].delete_bucket(Bucket="a-doomed")


def test_delete_bucket_with_only_incomplete_uploads(srv, tenants):
    s3 = tenants["s3a"]
    before = data_files(srv)
    s3.create_bucket(Bucket="a-uploads-only")
    # A bucket-scoped credential of the bucket goes with it.
    st, c = call(srv, "POST", f"{BUCKETS}/{bucket_ids(srv)['a-uploads-only']}/credentials")
    srv.secrets.append(c["secret_access_key"])
    scoped = client(srv, c["access_key_id"], c["secret_access_key"])
    scoped.head_bucket(Bucket="a-uploads-only")
    up = s3.create_multipart_upload(Bucket="a-uploads-only", Key="big")["UploadId"]
    s3.upload_part(Bucket="a-uploads-only", Key="big", UploadId=up, PartNumber=1, Body=b"p" * 200000)
    s3.upload_part(Bucket="a-uploads-only", Key="big", UploadId=up, PartNumber=2, Body=b"q" * 200000)
    assert len(data_files(srv) - before) == 2
    assert s3.delete_bucket(Bucket="a-uploads-only")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_parts(Bucket="a-uploads-only", Key="big", UploadId=up)
    assert code_of(e) == "NoSuchBucket"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        scoped.head_bucket(Bucket="a-uploads-only")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # InvalidAccessKeyId
    # The aborted parts' data files are unlinked after the grace period.
    deadline = time.monotonic() + 25
    while data_files(srv) - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not (data_files(srv) - before)


def test_cross_bucket_copy_within_a_project(srv, tenants):
    s3a, s3b = tenants["s3a"], tenants["s3b"]
    s3a.create_bucket(Bucket="a-copy-src")
    s3a.create_bucket(Bucket="a-copy-dst")
    s3a.put_object(Bucket="a-copy-src", Key="o", Body=b"payload", Metadata={"m": "1"})
    s3a.copy_object(Bucket="a-copy-dst", Key="o2", CopySource={"Bucket": "a-copy-src", "Key": "o"})
    o = s3a.get_object(Bucket="a-copy-dst", Key="o2")
    assert o["Body"].read() == b"payload" and o["Metadata"] == {"m": "1"}
    # Across projects: denied both ways.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3b.copy_object(Bucket="b-alpha", Key="stolen", CopySource={"Bucket": "a-copy-src", "Key": "o"})
    assert code_of(e) == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3b.copy_object(Bucket="a-copy-dst", Key="planted", CopySource={"Bucket": "b-alpha", "Key": "x"})
    assert code_of(e) == "AccessDenied"
    r = aws(srv, tenants["ca"], "s3", "cp", "s3://a-copy-src/o", "s3://a-copy-dst/by-cli")
    assert r.returncode == 0, r.stderr
    assert s3a.get_object(Bucket="a-copy-dst", Key="by-cli")["Body"].read() == b"payload"


OTHER_PROJECT_OPS = [
    ("GET", "/{b}"), ("GET", "/{b}?list-type=2"), ("GET", "/{b}?versions"), ("HEAD", "/{b}"),
    ("GET", "/{b}?location"), ("DELETE", "/{b}"), ("PUT", "/{b}/k"), ("GET", "/{b}/k"), ("HEAD", "/{b}/k"),
    ("DELETE", "/{b}/k"), ("GET", "/{b}/k?tagging"), ("POST", "/{b}/k?uploads"), ("GET", "/{b}?uploads"),
    ("GET", "/{b}/k?attributes"),
]


@pytest.mark.parametrize("method,path", OTHER_PROJECT_OPS)
def test_another_projects_bucket_is_access_denied(srv, tenants, method, path):
    tenants["s3a"].create_bucket(Bucket="a-fortress")
    tenants["s3a"].put_object(Bucket="a-fortress", Key="k", Body=b"secret")
    st, body, hdrs = raw(srv, tenants["cb"], method, path.format(b="a-fortress"))
    assert st == 403, (method, path, body)
    if method != "HEAD":
        assert ET.fromstring(body).findtext("Code") == "AccessDenied"
    assert tenants["s3a"].get_object(Bucket="a-fortress", Key="k")["Body"].read() == b"secret"


def test_aws_cli_make_and_remove_bucket(srv, tenants):
    c = tenants["cb"]
    r = aws(srv, c, "s3", "mb", "s3://b-cli-bucket")
    assert r.returncode == 0, r.stderr
    tenants["s3b"].put_object(Bucket="b-cli-bucket", Key="x", Body=b"1")
    r = aws(srv, c, "s3", "rb", "s3://b-cli-bucket")
    assert r.returncode != 0 and "BucketNotEmpty" in r.stderr
    r = aws(srv, c, "s3", "rb", "--force", "s3://b-cli-bucket")
    assert r.returncode == 0, r.stderr
    r = aws(srv, c, "s3", "ls")
    assert r.returncode == 0 and "b-cli-bucket" not in r.stdout and "b-alpha" in r.stdout
    r = aws(srv, tenants["ca"], "s3", "rb", "s3://b-alpha")
    assert r.returncode != 0 and "AccessDenied" in r.stderr


# ---------------------------------------------------------------- ListObjectVersions

@pytest.fixture(scope="module")
def versions_bucket(srv, tenants):
    s3 = tenants["s3a"]
    s3.create_bucket(Bucket="a-versions")
    keys = ["a", "b/1", "b/2", "c", "d e", "f+g"]
    for k in keys:
        s3.put_object(Bucket="a-versions", Key=k, Body=k.encode())
    return s3, keys


def test_list_object_versions(srv, tenants, versions_bucket):
    s3, keys = versions_bucket
    r = s3.list_object_versions(Bucket="a-versions")
    assert [v["Key"] for v in r["Versions"]] == keys
    assert all(v["VersionId"] == "null" and v["IsLatest"] is True for v in r["Versions"])
    assert r["Versions"][0]["Size"] == 1 and r["Versions"][0]["ETag"].startswith('"')
    assert r["IsTruncated"] is False and "DeleteMarkers" not in r
    # Paging with key-marker / version-id-marker.
    seen, kw = [], {}
    while True:
        r = s3.list_object_versions(Bucket="a-versions", MaxKeys=2, **kw)
        seen += [v["Key"] for v in r["Versions"]]
        assert r["MaxKeys"] == 2
        if not r["IsTruncated"]:
            break
        assert r["NextKeyMarker"] == seen[-1] and r["NextVersionIdMarker"] == "null"
        kw = {"KeyMarker": r["NextKeyMarker"], "VersionIdMarker": r["NextVersionIdMarker"]}
    assert seen == keys
    r = s3.list_object_versions(Bucket="a-versions", KeyMarker="b/1")
    assert [v["Key"] for v in r["Versions"]] == keys[2:]
    # prefix, delimiter, encoding-type.
    r = s3.list_object_versions(Bucket="a-versions", Delimiter="/", MaxKeys=2)
    assert [v["Key"] for v in r["Versions"]] == ["a"] and [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/"]
    assert r["IsTruncated"] and r["NextKeyMarker"] == "b/" and "NextVersionIdMarker" not in r
    r = s3.list_object_versions(Bucket="a-versions", Prefix="b/")
    assert [v["Key"] for v in r["Versions"]] == ["b/1", "b/2"] and r["Prefix"] == "b/"
    st, body, _ = raw(srv, tenants["ca"], "GET", "/a-versions?versions&encoding-type=url&prefix=d")
    doc = ET.fromstring(body)
    assert st == 200 and doc.findtext(f"{NS}EncodingType") == "url"
    assert [e.findtext(f"{NS}Key") for e in doc.iter(f"{NS}Version")] == ["d%20e"]
    # Bad markers.
    for q in ("version-id-marker=null", "key-marker=a&version-id-marker=3HL4kqtJlcpXroDTDmJ", "max-keys=-1",
              "encoding-type=base64"):
        st, body, _ = raw(srv, tenants["ca"], "GET", f"/a-versions?versions&{q}")
        assert st == 400 and ET.fromstring(body).findtext("Code") == "InvalidArgument", q


def test_list_object_versions_with_a_bucket_scoped_key_and_the_cli(srv, tenants, versions_bucket):
    st, c = call(srv, "POST", f"{BUCKETS}/{bucket_ids(srv)['a-versions']}/credentials")
    srv.secrets.append(c["secret_access_key"])
    s3 = client(srv, c["access_key_id"], c["secret_access_key"])
    assert [v["Key"] for v in s3.list_object_versions(Bucket="a-versions")["Versions"]] == versions_bucket[1]
    r = aws(srv, c, "s3api", "list-object-versions", "--bucket", "a-versions", "--prefix", "b/")
    assert r.returncode == 0, r.stderr
    assert [v["Key"] for v in json.loads(r.stdout)["Versions"]] == ["b/1", "b/2"]


def test_delete_objects_with_version_null_and_bypass_governance(srv, tenants):
    s3 = tenants["s3a"]
    s3.create_bucket(Bucket="a-delete-versions")
    for k in ("x", "y", "z"):
        s3.put_object(Bucket="a-delete-versions", Key=k, Body=b"1")
    r = s3.delete_objects(Bucket="a-delete-versions", BypassGovernanceRetention=True, Delete={"Objects": [
        {"Key": "x", "VersionId": "null"}, {"Key": "y", "VersionId": "3HL4kqtJlcpXroDTDmJ"}, {"Key": "z"}]})
    assert sorted((d["Key"], d.get("VersionId")) for d in r["Deleted"]) == [("x", "null"), ("z", None)]
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [("y", "NoSuchVersion")]
    left = [o["Key"] for o in s3.list_objects_v2(Bucket="a-delete-versions")["Contents"]]
    assert left == ["y"]
    s3.delete_object(Bucket="a-delete-versions", Key="y", BypassGovernanceRetention=True)
    assert s3.list_objects_v2(Bucket="a-delete-versions")["KeyCount"] == 0


# ---------------------------------------------------------------- RequestId

def test_error_request_id_matches_the_header(srv, tenants):
    ca = tenants["ca"]
    cases = [
        (ca, "GET", "/a-versions/no-such-key", "NoSuchKey"),
        (ca, "GET", "/no-such-bucket-anywhere", "NoSuchBucket"),
        (tenants["cb"], "GET", "/a-versions", "AccessDenied"),
        (tenants["cb"], "PUT", "/a-versions", "BucketAlreadyExists"),
        (ca, "PUT", "/Bad_Name", "InvalidBucketName"),
        ({"access_key_id": "AKIAUNKNOWNKEY000000", "secret_access_key": "x" * 40}, "GET", "/", "InvalidAccessKeyId"),
        ({"access_key_id": ca["access_key_id"], "secret_access_key": "y" * 40}, "GET", "/", "SignatureDoesNotMatch"),
        (ca, "GET", "/a-versions?versions&max-keys=x", "InvalidArgument"),
    ]
    for c, method, path, code in cases:
        st, body, hdrs = raw(srv, c, method, path)
        doc = ET.fromstring(body)
        assert doc.findtext("Code") == code, (path, body)
        assert re.fullmatch(r"[0-9A-F]{16}", hdrs["x-amz-request-id"])
        assert doc.findtext("RequestId") == hdrs["x-amz-request-id"], (path, body, hdrs)
