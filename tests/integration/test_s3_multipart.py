"""S3 multipart uploads with real clients (boto3 low-level calls and transfers, the aws CLI):
Create/UploadPart/Complete/Abort/ListParts/ListMultipartUploads, their errors, checksums on
parts, GET/HEAD ?partNumber and ranges across parts, overwrite both ways, a restart between
UploadPart and Complete, and the sweep that aborts abandoned uploads."""
import base64
import hashlib
import os
import subprocess
import time
import zlib

import boto3
import botocore
import pytest
from boto3.s3.transfer import TransferConfig

from conftest import FAST_OPTIONS, MamuteServer
from test_s3_auth import API_KEY, client, code_of, make_bucket

MiB = 1024 * 1024
B = "mpu-bucket"


def start(tmp_path_factory, name, **options):
    os.environ["MAMUTE_API_KEY"] = API_KEY
    os.environ["MAMUTE_ADMIN_PASSWORD"] = "correct horse battery staple"
    try:
        return MamuteServer(tmp_path_factory.mktemp(name),
                            {**FAST_OPTIONS, "data-cores": 1, "pin-threads": False, **options}).start()
    finally:
        del os.environ["MAMUTE_API_KEY"]
        del os.environ["MAMUTE_ADMIN_PASSWORD"]


@pytest.fixture(scope="module")
def mp(tmp_path_factory):
    srv = start(tmp_path_factory, "mpu", **{"body-timeout-ms": 10000})
    _, c = make_bucket(srv, B)
    yield srv, client(srv, c["access_key_id"], c["secret_access_key"]), c
    assert srv.stop() == 0


def data_files(srv):
    root = srv.data_dir / "objects"
    return sorted(p.name for p in root.rglob("*") if p.is_file())


def wait_no_new_files(srv, before):
    deadline = time.monotonic() + 20
    while set(data_files(srv)) - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not (set(data_files(srv)) - before)


def md5(b):
    return hashlib.md5(b).digest()


def mp_etag(parts):
    return '"%s-%d"' % (hashlib.md5(b"".join(md5(p) for p in parts)).hexdigest(), len(parts))


def upload(s3, key, parts, **create):
    up = s3.create_multipart_upload(Bucket=B, Key=key, **create)["UploadId"]
    done = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=i, Body=p)
        assert r["ETag"] == '"%s"' % hashlib.md5(p).hexdigest()
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    return up, done


def test_create_upload_complete_get(mp):
    srv, s3, _ = mp
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(1234)]
    up, done = upload(s3, "big/obj", parts, ContentType="text/x-test", Metadata={"Color": "Red"},
                      CacheControl="no-cache")
    ls = s3.list_parts(Bucket=B, Key="big/obj", UploadId=up)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in ls["Parts"]] == \
        [(d["PartNumber"], len(p), d["ETag"]) for d, p in zip(done, parts)]
    r = s3.complete_multipart_upload(Bucket=B, Key="big/obj", UploadId=up, MultipartUpload={"Parts": done})
    assert r["ETag"] == mp_etag(parts)
    whole = b"".join(parts)
    o = s3.get_object(Bucket=B, Key="big/obj")
    assert o["Body"].read() == whole
    assert o["ETag"] == mp_etag(parts) and o["ContentLength"] == len(whole)
    assert o["ContentType"] == "text/x-test" and o["Metadata"] == {"color": "Red"} and o["CacheControl"] == "no-cache"
    # The upload is gone once completed.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_parts(Bucket=B, Key="big/obj", UploadId=up)
    assert code_of(e) == "NoSuchUpload"
    # Listed with the multipart ETag.
    lo = s3.list_objects_v2(Bucket=B, Prefix="big/")
    assert [(x["Key"], x["ETag"], x["Size"]) for x in lo["Contents"]] == [("big/obj", mp_etag(parts), len(whole))]
    # GET/HEAD ?partNumber: that part, 206 with Content-Range and the part count.
    off = 0
    for n, p in enumerate(parts, 1):
        g = s3.get_object(Bucket=B, Key="big/obj", PartNumber=n)
        assert g["Body"].read() == p
        assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert g["ContentRange"] == "bytes %d-%d/%d" % (off, off + len(p) - 1, len(whole))
        assert g["PartsCount"] == 3
        h = s3.head_object(Bucket=B, Key="big/obj", PartNumber=n)
        assert h["ContentLength"] == len(p) and h["PartsCount"] == 3
        off += len(p)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=B, Key="big/obj", PartNumber=4)
    assert code_of(e) == "InvalidPartNumber"
    # Ranges inside one part and across part boundaries.
    for a, b in [(0, 9), (5 * MiB - 3, 5 * MiB + 2), (5 * MiB - 1, 10 * MiB + 5), (10 * MiB, len(whole) - 1),
                 (1, len(whole) - 1)]:
        g = s3.get_object(Bucket=B, Key="big/obj", Range="bytes=%d-%d" % (a, b))
        assert g["Body"].read() == whole[a:b + 1], (a, b)
    g = s3.get_object(Bucket=B, Key="big/obj", Range="bytes=-5")
    assert g["Body"].read() == whole[-5:]
    # The part files are the object's data: no copy was made at Complete.
    assert len(data_files(srv)) >= 3


def test_single_part_object_part_number(mp):
    _, s3, _ = mp
    s3.put_object(Bucket=B, Key="single", Body=b"abc")
    g = s3.get_object(Bucket=B, Key="single", PartNumber=1)
    assert g["Body"].read() == b"abc"
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206 and g["ContentRange"] == "bytes 0-2/3"  # as AWS
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=B, Key="single", PartNumber=2)
    assert code_of(e) == "InvalidPartNumber"


def test_complete_errors(mp):
    _, s3, _ = mp
    small = [b"a" * 100, b"b" * 100]
    up, done = upload(s3, "errs", small)
    cases = [
        ([done[1], done[0]], "InvalidPartOrder"),
        ([done[0], done[0]], "InvalidPartOrder"),
        ([done[0], {"PartNumber": 3, "ETag": done[1]["ETag"]}], "InvalidPart"),
        ([done[0], {"PartNumber": 2, "ETag": '"%s"' % ("0" * 32)}], "InvalidPart"),
        (done, "EntityTooSmall"),  # part 1 is under 5 MiB and not the last
    ]
    for parts, want in cases:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.complete_multipart_upload(Bucket=B, Key="errs", UploadId=up, MultipartUpload={"Parts": parts})
        assert code_of(e) == want, parts
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=B, Key="errs", UploadId=up, MultipartUpload={"Parts": []})
    assert code_of(e) == "MalformedXML"
    # The upload is still there after the refusals: one small last part completes it.
    r = s3.complete_multipart_upload(Bucket=B, Key="errs", UploadId=up, MultipartUpload={"Parts": [done[1]]})
    assert r["ETag"] == mp_etag([small[1]])
    assert s3.get_object(Bucket=B, Key="errs")["Body"].read() == small[1]


def test_upload_part_errors_and_unknown_upload(mp):
    _, s3, _ = mp
    up = s3.create_multipart_upload(Bucket=B, Key="pe")["UploadId"]
    for n in (0, 10001):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.upload_part(Bucket=B, Key="pe", UploadId=up, PartNumber=n, Body=b"x")
        assert code_of(e) == "InvalidArgument"
    bogus = "0" * 32
    for call in [lambda: s3.upload_part(Bucket=B, Key="pe", UploadId=bogus, PartNumber=1, Body=b"x"),
                 lambda: s3.upload_part(Bucket=B, Key="other-key", UploadId=up, PartNumber=1, Body=b"x"),
                 lambda: s3.upload_part(Bucket=B, Key="pe", UploadId="not-hex", PartNumber=1, Body=b"x"),
                 lambda: s3.list_parts(Bucket=B, Key="pe", UploadId=bogus),
                 lambda: s3.abort_multipart_upload(Bucket=B, Key="pe", UploadId=bogus),
                 lambda: s3.complete_multipart_upload(Bucket=B, Key="pe", UploadId=bogus,
                                                      MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": "x"}]})]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert code_of(e) == "NoSuchUpload"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # Content-MD5 is verified on parts; a wrong one stores nothing.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part(Bucket=B, Key="pe", UploadId=up, PartNumber=1, Body=b"hello",
                       ContentMD5=base64.b64encode(md5(b"other")).decode())
    assert code_of(e) == "BadDigest"
    assert s3.list_parts(Bucket=B, Key="pe", UploadId=up).get("Parts", []) == []
    # UploadPartCopy (test_s3_part_copy.py) checks its upload first, like UploadPart.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part_copy(Bucket=B, Key="pe", UploadId=bogus, PartNumber=1, CopySource={"Bucket": B, "Key": "single"})
    assert code_of(e) == "NoSuchUpload"
    s3.abort_multipart_upload(Bucket=B, Key="pe", UploadId=up)


def test_part_reupload_replaces_and_abort_removes_files(mp):
    srv, s3, _ = mp
    before = set(data_files(srv))
    up = s3.create_multipart_upload(Bucket=B, Key="re")["UploadId"]
    s3.upload_part(Bucket=B, Key="re", UploadId=up, PartNumber=1, Body=b"first" * 10000)
    e2 = s3.upload_part(Bucket=B, Key="re", UploadId=up, PartNumber=1, Body=b"second" * 10000)["ETag"]
    ls = s3.list_parts(Bucket=B, Key="re", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in ls] == [(1, e2, 60000)]
    r = s3.abort_multipart_upload(Bucket=B, Key="re", UploadId=up)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_parts(Bucket=B, Key="re", UploadId=up)
    assert code_of(e) == "NoSuchUpload"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.abort_multipart_upload(Bucket=B, Key="re", UploadId=up)
    assert code_of(e) == "NoSuchUpload"
    # Both part files (the replaced one and the aborted one) are unlinked after the grace period.
    deadline = time.monotonic() + 20
    while set(data_files(srv)) - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not (set(data_files(srv)) - before)


def test_list_parts_paging(mp):
    _, s3, _ = mp
    up = s3.create_multipart_upload(Bucket=B, Key="lp")["UploadId"]
    for n in (1, 2, 3, 5, 8):
        s3.upload_part(Bucket=B, Key="lp", UploadId=up, PartNumber=n, Body=b"%d" % n)
    r = s3.list_parts(Bucket=B, Key="lp", UploadId=up, MaxParts=2)
    assert [p["PartNumber"] for p in r["Parts"]] == [1, 2]
    assert r["IsTruncated"] and r["NextPartNumberMarker"] == 2 and r["MaxParts"] == 2
    r = s3.list_parts(Bucket=B, Key="lp", UploadId=up, MaxParts=2, PartNumberMarker=2)
    assert [p["PartNumber"] for p in r["Parts"]] == [3, 5] and r["IsTruncated"]
    r = s3.list_parts(Bucket=B, Key="lp", UploadId=up, MaxParts=2, PartNumberMarker=5)
    assert [p["PartNumber"] for p in r["Parts"]] == [8] and not r["IsTruncated"]
    pages = s3.get_paginator("list_parts").paginate(Bucket=B, Key="lp", UploadId=up, PaginationConfig={"PageSize": 2})
    assert [p["PartNumber"] for page in pages for p in page["Parts"]] == [1, 2, 3, 5, 8]
    s3.abort_multipart_upload(Bucket=B, Key="lp", UploadId=up)


def test_list_multipart_uploads(mp):
    _, s3, _ = mp
    ids = {}
    for k in ["lu/a", "lu/a", "lu/b", "lu/d/1", "lu/d/2", "lu/e"]:
        ids.setdefault(k, []).append(s3.create_multipart_upload(Bucket=B, Key=k)["UploadId"])
    r = s3.list_multipart_uploads(Bucket=B, Prefix="lu/")
    assert [(u["Key"], u["UploadId"]) for u in r["Uploads"]] == \
        [("lu/a", ids["lu/a"][0]), ("lu/a", ids["lu/a"][1]), ("lu/b", ids["lu/b"][0]),
         ("lu/d/1", ids["lu/d/1"][0]), ("lu/d/2", ids["lu/d/2"][0]), ("lu/e", ids["lu/e"][0])]
    assert not r["IsTruncated"]
    r = s3.list_multipart_uploads(Bucket=B, Prefix="lu/", Delimiter="/")
    assert [u["Key"] for u in r["Uploads"]] == ["lu/a", "lu/a", "lu/b", "lu/e"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["lu/d/"]
    r = s3.list_multipart_uploads(Bucket=B, Prefix="lu/", MaxUploads=1)
    assert r["IsTruncated"] and r["NextKeyMarker"] == "lu/a" and r["NextUploadIdMarker"] == ids["lu/a"][0]
    r = s3.list_multipart_uploads(Bucket=B, Prefix="lu/", MaxUploads=2, KeyMarker="lu/a",
                                  UploadIdMarker=ids["lu/a"][0])
    assert [(u["Key"], u["UploadId"]) for u in r["Uploads"]] == [("lu/a", ids["lu/a"][1]), ("lu/b", ids["lu/b"][0])]
    r = s3.list_multipart_uploads(Bucket=B, Prefix="lu/", KeyMarker="lu/b")
    assert [u["Key"] for u in r["Uploads"]] == ["lu/d/1", "lu/d/2", "lu/e"]
    pages = s3.get_paginator("list_multipart_uploads").paginate(Bucket=B, Prefix="lu/",
                                                                 PaginationConfig={"PageSize": 2})
    assert len([u for page in pages for u in page.get("Uploads", [])]) == 6
    for k, v in ids.items():
        for u in v:
            s3.abort_multipart_upload(Bucket=B, Key=k, UploadId=u)
    assert s3.list_multipart_uploads(Bucket=B, Prefix="lu/").get("Uploads", []) == []


@pytest.mark.parametrize("algo", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_checksums_on_parts_composite(mp, algo):
    _, s3, _ = mp
    key = "ck/" + algo
    parts = [os.urandom(5 * MiB), os.urandom(100)]
    up = s3.create_multipart_upload(Bucket=B, Key=key, ChecksumAlgorithm=algo)["UploadId"]
    done = []
    raws = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=i, Body=p, ChecksumAlgorithm=algo)
        assert "Checksum" + algo in r
        raws.append(base64.b64decode(r["Checksum" + algo]))
        done.append({"PartNumber": i, "ETag": r["ETag"], "Checksum" + algo: r["Checksum" + algo]})
    if algo == "CRC32":
        assert raws[0] == zlib.crc32(parts[0]).to_bytes(4, "big")
    ls = s3.list_parts(Bucket=B, Key=key, UploadId=up)
    assert [p.get("Checksum" + algo) for p in ls["Parts"]] == [d["Checksum" + algo] for d in done]
    r = s3.complete_multipart_upload(Bucket=B, Key=key, UploadId=up, MultipartUpload={"Parts": done})
    h = {"CRC32": zlib.crc32, "SHA1": lambda b: hashlib.sha1(b).digest(), "SHA256": lambda b: hashlib.sha256(b).digest()}
    if algo in h:
        composite = h[algo](b"".join(raws))
        if algo == "CRC32":
            composite = composite.to_bytes(4, "big")
        assert r["Checksum" + algo] == base64.b64encode(composite).decode() + "-2"
    else:
        assert r["Checksum" + algo].endswith("-2")
    assert s3.get_object(Bucket=B, Key=key)["Body"].read() == b"".join(parts)


def test_bad_part_checksum_is_refused(mp):
    _, s3, _ = mp
    up = s3.create_multipart_upload(Bucket=B, Key="badck", ChecksumAlgorithm="CRC32")["UploadId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part(Bucket=B, Key="badck", UploadId=up, PartNumber=1, Body=b"data",
                       ChecksumCRC32=base64.b64encode(b"\0\0\0\0").decode())
    assert code_of(e) == "BadDigest"
    # A part without the upload's checksum gets it computed.
    r = s3.upload_part(Bucket=B, Key="badck", UploadId=up, PartNumber=1, Body=b"data")
    ls = s3.list_parts(Bucket=B, Key="badck", UploadId=up)["Parts"]
    assert base64.b64decode(ls[0]["ChecksumCRC32"]) == zlib.crc32(b"data").to_bytes(4, "big")
    s3.abort_multipart_upload(Bucket=B, Key="badck", UploadId=up)
    assert r["ETag"]


def test_full_object_crc_checksum(mp):
    _, s3, _ = mp
    parts = [os.urandom(5 * MiB), os.urandom(777)]
    up = s3.create_multipart_upload(Bucket=B, Key="full", ChecksumAlgorithm="CRC32")["UploadId"]
    # boto3 1.26 has no ChecksumType parameter: send the header itself.
    s3.abort_multipart_upload(Bucket=B, Key="full", UploadId=up)

    def add_type(request, **kwargs):
        request.headers["x-amz-checksum-type"] = "FULL_OBJECT"
    s3.meta.events.register("before-sign.s3.CreateMultipartUpload", add_type)
    try:
        up = s3.create_multipart_upload(Bucket=B, Key="full", ChecksumAlgorithm="CRC32")["UploadId"]
    finally:
        s3.meta.events.unregister("before-sign.s3.CreateMultipartUpload", add_type)
    done = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=B, Key="full", UploadId=up, PartNumber=i, Body=p, ChecksumAlgorithm="CRC32")
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    r = s3.complete_multipart_upload(Bucket=B, Key="full", UploadId=up, MultipartUpload={"Parts": done})
    assert r["ChecksumCRC32"] == base64.b64encode(zlib.crc32(b"".join(parts)).to_bytes(4, "big")).decode()
    h = s3.head_object(Bucket=B, Key="full", ChecksumMode="ENABLED")
    assert h["ChecksumCRC32"] == r["ChecksumCRC32"]


def test_transfer_manager_upload_and_download(mp, tmp_path):
    _, s3, _ = mp
    data = os.urandom(20 * MiB + 11)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
    s3.upload_file(str(src), B, "tm/file.bin", Config=cfg)
    h = s3.head_object(Bucket=B, Key="tm/file.bin")
    assert h["ContentLength"] == len(data) and h["ETag"].endswith('-5"')
    dst = tmp_path / "dst.bin"
    s3.download_file(B, "tm/file.bin", str(dst), Config=cfg)  # ranged GETs across parts
    assert dst.read_bytes() == data


def aws(srv, c, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=c["access_key_id"], AWS_SECRET_ACCESS_KEY=c["secret_access_key"],
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    return subprocess.run(["/usr/bin/aws", "--endpoint-url", f"http://127.0.0.1:{srv.s3_port}", *args],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.skipif(not os.path.exists("/usr/bin/aws"), reason="Debian awscli not installed")
def test_aws_cli_multipart_cp_both_ways(mp, tmp_path):
    srv, s3, c = mp
    data = os.urandom(17 * MiB + 5)  # over the CLI's 8 MiB multipart threshold
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    r = aws(srv, c, "s3", "cp", str(src), f"s3://{B}/cli/big.bin")
    assert r.returncode == 0, r.stderr
    assert s3.head_object(Bucket=B, Key="cli/big.bin")["ETag"].endswith('-3"')  # 8 MiB chunks
    dst = tmp_path / "down.bin"
    r = aws(srv, c, "s3", "cp", f"s3://{B}/cli/big.bin", str(dst))
    assert r.returncode == 0, r.stderr
    assert dst.read_bytes() == data


@pytest.mark.skipif(not os.path.exists("/usr/bin/aws"), reason="Debian awscli not installed")
def test_aws_cli_40mib_cp_sync_both_ways_and_presign(mp, tmp_path):
    """Issue 5's aws CLI scenario: a 40 MiB multipart `aws s3 cp`, `aws s3 sync` up and down (a
    second sync copies nothing: sizes and times agree), `--delete` on sync, and `aws s3 presign`
    fetched with a plain HTTP client."""
    import urllib.request
    srv, s3, c = mp
    data = os.urandom(40 * MiB + 3)
    src = tmp_path / "forty.bin"
    src.write_bytes(data)
    r = aws(srv, c, "s3", "cp", str(src), f"s3://{B}/cli40/forty.bin")
    assert r.returncode == 0, r.stderr
    assert s3.head_object(Bucket=B, Key="cli40/forty.bin")["ETag"].endswith('-6"')  # 8 MiB parts and 3 bytes
    got = s3.get_object(Bucket=B, Key="cli40/forty.bin")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()

    up = tmp_path / "tree"
    (up / "sub").mkdir(parents=True)
    files = {"a.txt": b"alpha", "sub/b.bin": os.urandom(70000), "sub/c.txt": b""}
    for name, body in files.items():
        (up / name).write_bytes(body)
    r = aws(srv, c, "s3", "sync", str(up), f"s3://{B}/synced/")
    assert r.returncode == 0, r.stderr
    for name, body in files.items():
        assert s3.get_object(Bucket=B, Key="synced/" + name)["Body"].read() == body
    r = aws(srv, c, "s3", "sync", str(up), f"s3://{B}/synced/")
    assert r.returncode == 0 and "upload:" not in r.stdout, r.stdout  # nothing changed
    (up / "a.txt").unlink()
    r = aws(srv, c, "s3", "sync", "--delete", str(up), f"s3://{B}/synced/")
    assert r.returncode == 0 and "delete: s3://" in r.stdout, r.stdout + r.stderr
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=B, Prefix="synced/")["Contents"]}
    assert keys == {"synced/sub/b.bin", "synced/sub/c.txt"}

    down = tmp_path / "down"
    r = aws(srv, c, "s3", "sync", f"s3://{B}/synced/", str(down))
    assert r.returncode == 0, r.stderr
    assert (down / "sub" / "b.bin").read_bytes() == files["sub/b.bin"]
    assert (down / "sub" / "c.txt").read_bytes() == b""
    assert not (down / "a.txt").exists()

    r = aws(srv, c, "s3", "presign", f"s3://{B}/synced/sub/b.bin", "--expires-in", "300")
    assert r.returncode == 0, r.stderr
    with urllib.request.urlopen(r.stdout.strip(), timeout=30) as resp:
        assert resp.read() == files["sub/b.bin"]


def test_overwrite_multipart_by_put_and_back(mp):
    srv, s3, _ = mp
    before = set(data_files(srv))
    parts = [os.urandom(5 * MiB), os.urandom(10)]
    up, done = upload(s3, "ow", parts)
    s3.complete_multipart_upload(Bucket=B, Key="ow", UploadId=up, MultipartUpload={"Parts": done})
    assert len(set(data_files(srv)) - before) == 2
    s3.put_object(Bucket=B, Key="ow", Body=b"small now")  # inline: no file of its own
    assert s3.get_object(Bucket=B, Key="ow")["Body"].read() == b"small now"
    up, done = upload(s3, "ow", parts)
    s3.complete_multipart_upload(Bucket=B, Key="ow", UploadId=up, MultipartUpload={"Parts": done})
    assert s3.get_object(Bucket=B, Key="ow")["Body"].read() == b"".join(parts)
    s3.delete_object(Bucket=B, Key="ow")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=B, Key="ow")
    assert code_of(e) == "NoSuchKey"
    # Every part file of both multipart versions is unlinked after the grace period.
    wait_no_new_files(srv, before)


def test_copy_tagging_attributes_and_delete_objects_on_multipart(mp):
    srv, s3, _ = mp
    before = set(data_files(srv))
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(777)]
    whole = b"".join(parts)
    up, done = upload(s3, "mcopy/src", parts, Metadata={"k": "v"})
    s3.complete_multipart_upload(Bucket=B, Key="mcopy/src", UploadId=up, MultipartUpload={"Parts": done})
    # CopyObject of a multipart source: read part by part, written as one single-part object.
    r = s3.copy_object(Bucket=B, Key="mcopy/dst", CopySource={"Bucket": B, "Key": "mcopy/src"})
    assert r["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(whole).hexdigest()
    o = s3.get_object(Bucket=B, Key="mcopy/dst")
    assert o["Body"].read() == whole and o["Metadata"] == {"k": "v"}
    # Tagging and GetObjectAttributes on a multipart object.
    s3.put_object_tagging(Bucket=B, Key="mcopy/src", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
    assert s3.get_object_tagging(Bucket=B, Key="mcopy/src")["TagSet"] == [{"Key": "t", "Value": "1"}]
    assert s3.get_object(Bucket=B, Key="mcopy/src")["Body"].read() == whole  # the parts stay
    a = s3.get_object_attributes(Bucket=B, Key="mcopy/src", ObjectAttributes=["ObjectParts", "ObjectSize", "ETag"])
    assert a["ObjectSize"] == len(whole) and a["ObjectParts"]["TotalPartsCount"] == 3
    assert '"%s"' % a["ETag"] == mp_etag(parts)
    # CopyObject onto a multipart key: every part file of the replaced object is unlinked.
    up, done = upload(s3, "mcopy/over", parts)
    s3.complete_multipart_upload(Bucket=B, Key="mcopy/over", UploadId=up, MultipartUpload={"Parts": done})
    s3.copy_object(Bucket=B, Key="mcopy/over", CopySource={"Bucket": B, "Key": "mcopy/dst"},
                   MetadataDirective="REPLACE")
    assert s3.get_object(Bucket=B, Key="mcopy/over")["Body"].read() == whole
    # DeleteObjects of multipart and copied objects: all their files go.
    r = s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "mcopy/src"}, {"Key": "mcopy/dst"},
                                                        {"Key": "mcopy/over"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["mcopy/dst", "mcopy/over", "mcopy/src"]
    wait_no_new_files(srv, before)


def test_complete_replacing_put_object_leaves_no_orphan(mp):
    srv, s3, _ = mp
    before = set(data_files(srv))
    s3.put_object(Bucket=B, Key="mrep", Body=os.urandom(100000))  # one data file
    parts = [os.urandom(5 * MiB), os.urandom(10)]
    up, done = upload(s3, "mrep", parts)
    s3.complete_multipart_upload(Bucket=B, Key="mrep", UploadId=up, MultipartUpload={"Parts": done})
    s3.put_object(Bucket=B, Key="mrep", Body=os.urandom(100000))  # replaces both part files
    s3.delete_object(Bucket=B, Key="mrep")
    wait_no_new_files(srv, before)


def test_restart_between_upload_part_and_complete(tmp_path_factory):
    srv = start(tmp_path_factory, "mpu-restart")
    try:
        _, c = make_bucket(srv, B)
        s3 = client(srv, c["access_key_id"], c["secret_access_key"])
        parts = [os.urandom(5 * MiB), os.urandom(3)]
        up, done = upload(s3, "survivor", parts)
        assert srv.stop() == 0
        srv.returncode = None
        srv.start()
        s3 = client(srv, c["access_key_id"], c["secret_access_key"])
        assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=B)["Uploads"]] == [up]
        assert len(s3.list_parts(Bucket=B, Key="survivor", UploadId=up)["Parts"]) == 2
        s3.complete_multipart_upload(Bucket=B, Key="survivor", UploadId=up, MultipartUpload={"Parts": done})
        assert s3.get_object(Bucket=B, Key="survivor")["Body"].read() == b"".join(parts)
        # Recovery keeps the part files of the completed object (no false orphans).
        assert srv.stop() == 0
        srv.returncode = None
        srv.start()
        s3 = client(srv, c["access_key_id"], c["secret_access_key"])
        assert s3.get_object(Bucket=B, Key="survivor")["Body"].read() == b"".join(parts)
    finally:
        assert srv.stop() == 0
    r = subprocess.run([srv.args[0], "fsck", "--data-dir", str(srv.data_dir)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_expiry_sweep_aborts_abandoned_uploads(tmp_path_factory):
    srv = start(tmp_path_factory, "mpu-expiry", **{"multipart-expiry-s": 2})
    try:
        _, c = make_bucket(srv, B)
        s3 = client(srv, c["access_key_id"], c["secret_access_key"])
        up = s3.create_multipart_upload(Bucket=B, Key="abandoned")["UploadId"]
        s3.upload_part(Bucket=B, Key="abandoned", UploadId=up, PartNumber=1, Body=os.urandom(100000))
        assert len(data_files(srv)) == 1
        deadline = time.monotonic() + 10
        while s3.list_multipart_uploads(Bucket=B).get("Uploads") and time.monotonic() < deadline:
            time.sleep(0.3)
        assert s3.list_multipart_uploads(Bucket=B).get("Uploads", []) == []
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.upload_part(Bucket=B, Key="abandoned", UploadId=up, PartNumber=2, Body=b"late")
        assert code_of(e) == "NoSuchUpload"
        deadline = time.monotonic() + 20  # the part file goes after the unlink grace period
        while data_files(srv) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert data_files(srv) == []
    finally:
        assert srv.stop() == 0
