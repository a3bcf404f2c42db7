"""UploadPartCopy with real clients (boto3 upload_part_copy, and the aws CLI's `s3 cp` of a large
object between keys, which copies part by part), and GET/HEAD ?partNumber rules: partNumber with
a Range header is refused, partNumber=1 of an object not uploaded in parts is the whole object."""
import base64
import hashlib
import json
import os
import subprocess
import zlib

import botocore
import pytest

from test_s3_auth import client, code_of, make_bucket
from test_s3_multipart import MiB, mp_etag, start

B = "upc-bucket"


@pytest.fixture(scope="module")
def upc(tmp_path_factory):
    srv = start(tmp_path_factory, "upc", **{"body-timeout-ms": 10000})
    _, c = make_bucket(srv, B)
    _, other = make_bucket(srv, "upc-other")
    yield srv, client(srv, c["access_key_id"], c["secret_access_key"]), c, other
    assert srv.stop() == 0
    r = subprocess.run([srv.args[0], "fsck", "--data-dir", str(srv.data_dir)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def status_of(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_upload_part_copy_whole_ranges_and_multipart_source(upc):
    _, s3, _, _ = upc
    small = os.urandom(300 * 1024 + 7)
    s3.put_object(Bucket=B, Key="src/single", Body=small)
    # A multipart source: the copy reads across its parts.
    mp_parts = [os.urandom(5 * MiB), os.urandom(5 * MiB + 3)]
    up = s3.create_multipart_upload(Bucket=B, Key="src/multi")["UploadId"]
    done = [{"PartNumber": i, "ETag": s3.upload_part(Bucket=B, Key="src/multi", UploadId=up, PartNumber=i,
                                                     Body=p)["ETag"]} for i, p in enumerate(mp_parts, 1)]
    s3.complete_multipart_upload(Bucket=B, Key="src/multi", UploadId=up, MultipartUpload={"Parts": done})
    multi = b"".join(mp_parts)

    up = s3.create_multipart_upload(Bucket=B, Key="dst", ContentType="text/x-copied")["UploadId"]
    pieces = []
    # Part 1: a range of the multipart source crossing its part boundary (5 MiB + 10 bytes).
    a, b = 5 * MiB - 100, 10 * MiB - 91
    r = s3.upload_part_copy(Bucket=B, Key="dst", UploadId=up, PartNumber=1,
                            CopySource={"Bucket": B, "Key": "src/multi"}, CopySourceRange="bytes=%d-%d" % (a, b))
    pieces.append(multi[a:b + 1])
    assert r["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(pieces[0]).hexdigest()
    assert r["CopyPartResult"]["LastModified"] is not None
    # Part 2: the whole single-file source (no range).
    r = s3.upload_part_copy(Bucket=B, Key="dst", UploadId=up, PartNumber=2, CopySource=f"{B}/src/single")
    pieces.append(small)
    assert r["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(small).hexdigest()
    # Part 3: an ordinary upload after copies; part 4: the last byte of the multipart source.
    pieces.append(b"tail")
    s3.upload_part(Bucket=B, Key="dst", UploadId=up, PartNumber=3, Body=b"tail")
    last = len(multi) - 1
    s3.upload_part_copy(Bucket=B, Key="dst", UploadId=up, PartNumber=4, CopySource={"Bucket": B, "Key": "src/multi"},
                        CopySourceRange="bytes=%d-%d" % (last, last))
    pieces.append(multi[-1:])
    ls = s3.list_parts(Bucket=B, Key="dst", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in ls] == [(i, len(p)) for i, p in enumerate(pieces, 1)]
    # Complete refuses the 300 KiB part 2 (under 5 MiB, not the last) as AWS would.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=B, Key="dst", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in ls]})
    assert code_of(e) == "EntityTooSmall"
    s3.complete_multipart_upload(Bucket=B, Key="dst", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in ls[:2]]})
    o = s3.get_object(Bucket=B, Key="dst")
    assert o["Body"].read() == pieces[0] + pieces[1]
    assert o["ETag"] == mp_etag(pieces[:2]) and o["ContentType"] == "text/x-copied"


def test_upload_part_copy_errors_and_conditions(upc):
    srv, s3, _, other = upc
    s3.put_object(Bucket=B, Key="c/src", Body=b"0123456789")
    etag = s3.head_object(Bucket=B, Key="c/src")["ETag"]
    up = s3.create_multipart_upload(Bucket=B, Key="c/dst")["UploadId"]

    def copy(**kw):
        args = dict(Bucket=B, Key="c/dst", UploadId=up, PartNumber=1, CopySource={"Bucket": B, "Key": "c/src"})
        args.update(kw)
        return s3.upload_part_copy(**args)

    # Ranges: outside the source or malformed → 400 InvalidArgument (AWS).
    for rng in ["bytes=0-10", "bytes=5-4", "bytes=10-10", "bytes=0-", "bytes=-3", "0-3", "bytes=a-b", "bytes=0-1,3-4"]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            copy(CopySourceRange=rng)
        assert (status_of(e), code_of(e)) == (400, "InvalidArgument"), rng
    r = copy(CopySourceRange="bytes=2-4")
    assert r["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(b"234").hexdigest()
    # Copy-source conditionals: a failing one is 412 and leaves the part as it was.
    for kw in [{"CopySourceIfMatch": '"00000000000000000000000000000000"'}, {"CopySourceIfNoneMatch": etag},
               {"CopySourceIfUnmodifiedSince": "Mon, 01 Jan 2001 00:00:00 GMT"},
               {"CopySourceIfModifiedSince": "Fri, 01 Jan 2100 00:00:00 GMT"}]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            copy(**kw)
        assert (status_of(e), code_of(e)) == (412, "PreconditionFailed"), kw
    assert [p["Size"] for p in s3.list_parts(Bucket=B, Key="c/dst", UploadId=up)["Parts"]] == [3]
    r = copy(CopySourceIfMatch=etag, CopySourceIfModifiedSince="Mon, 01 Jan 2001 00:00:00 GMT")
    assert r["CopyPartResult"]["ETag"] == etag  # part 1 replaced by the whole source
    # Missing source, unknown upload, bad part number.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        copy(CopySource={"Bucket": B, "Key": "c/absent"})
    assert code_of(e) == "NoSuchKey"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        copy(UploadId="0" * 32)
    assert code_of(e) == "NoSuchUpload"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        copy(PartNumber=10001)
    assert code_of(e) == "InvalidArgument"
    # The source must be readable by the same key: another bucket's object is AccessDenied,
    # whether it exists or not, and nothing is written.
    s3o = client(srv, other["access_key_id"], other["secret_access_key"])
    s3o.put_object(Bucket="upc-other", Key="secret", Body=b"not yours")
    for key in ["secret", "absent"]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            copy(CopySource={"Bucket": "upc-other", "Key": key})
        assert code_of(e) == "AccessDenied", key
    with pytest.raises(botocore.exceptions.ClientError) as e:
        copy(CopySource={"Bucket": "no-such-bucket-anywhere", "Key": "k"})
    assert code_of(e) == "AccessDenied"
    # Nor can the other bucket's key copy into this bucket's upload.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3o.upload_part_copy(Bucket=B, Key="c/dst", UploadId=up, PartNumber=2,
                             CopySource={"Bucket": "upc-other", "Key": "secret"})
    assert code_of(e) == "AccessDenied"
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=B, Key="c/dst", UploadId=up)["Parts"]] == [1]
    s3.abort_multipart_upload(Bucket=B, Key="c/dst", UploadId=up)


def test_upload_part_copy_checksum_of_the_upload(upc):
    _, s3, _, _ = upc
    data = os.urandom(100000)
    s3.put_object(Bucket=B, Key="ck/src", Body=data)
    up = s3.create_multipart_upload(Bucket=B, Key="ck/dst", ChecksumAlgorithm="CRC32")["UploadId"]
    r = s3.upload_part_copy(Bucket=B, Key="ck/dst", UploadId=up, PartNumber=1, CopySource=f"{B}/ck/src",
                            CopySourceRange="bytes=10-99")
    want = base64.b64encode(zlib.crc32(data[10:100]).to_bytes(4, "big")).decode()
    assert r["CopyPartResult"]["ChecksumCRC32"] == want
    ls = s3.list_parts(Bucket=B, Key="ck/dst", UploadId=up)["Parts"]
    assert ls[0]["ChecksumCRC32"] == want
    s3.complete_multipart_upload(Bucket=B, Key="ck/dst", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": ls[0]["ETag"], "ChecksumCRC32": want}]})
    assert s3.get_object(Bucket=B, Key="ck/dst")["Body"].read() == data[10:100]


@pytest.mark.skipif(not os.path.exists("/usr/bin/aws"), reason="Debian awscli not installed")
def test_aws_cli_copies_a_large_object_part_by_part(upc, tmp_path):
    srv, s3, c, _ = upc
    data = os.urandom(11 * MiB + 5)
    s3.put_object(Bucket=B, Key="cli/src.bin", Body=data, Metadata={"origin": "cli"})
    cfg = tmp_path / "aws.cfg"
    cfg.write_text("[default]\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=c["access_key_id"], AWS_SECRET_ACCESS_KEY=c["secret_access_key"],
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(cfg), AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    r = subprocess.run(["/usr/bin/aws", "--endpoint-url", f"http://127.0.0.1:{srv.s3_port}", "s3", "cp",
                        f"s3://{B}/cli/src.bin", f"s3://{B}/cli/dst.bin"], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    h = s3.head_object(Bucket=B, Key="cli/dst.bin")
    assert h["ETag"].endswith('-3"'), h["ETag"]  # three UploadPartCopy parts of 5, 5 and 1 MiB
    assert h["Metadata"] == {"origin": "cli"}
    assert s3.get_object(Bucket=B, Key="cli/dst.bin")["Body"].read() == data
    # The parts were copied server-side: three PUTs of the destination carried no data.
    puts = [json.loads(line) for line in srv.stdout_text().splitlines()
            if '"path":"/%s/cli/dst.bin"' % B in line and '"method":"PUT"' in line]
    assert len(puts) == 3 and all(p["status"] == 200 and p["bytes_in"] < 64 * 1024 for p in puts), puts


def test_part_number_with_range_and_single_part_objects(upc):
    _, s3, _, _ = upc
    s3.put_object(Bucket=B, Key="pn/single", Body=b"0123456789")
    s3.put_object(Bucket=B, Key="pn/empty", Body=b"")
    # partNumber=1 of an object not uploaded in parts: the whole object, 206 with its range (AWS).
    g = s3.get_object(Bucket=B, Key="pn/single", PartNumber=1)
    assert g["Body"].read() == b"0123456789"
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206 and g["ContentRange"] == "bytes 0-9/10"
    assert "PartsCount" not in g
    h = s3.head_object(Bucket=B, Key="pn/single", PartNumber=1)
    assert h["ResponseMetadata"]["HTTPStatusCode"] == 206 and h["ContentLength"] == 10
    g = s3.get_object(Bucket=B, Key="pn/empty", PartNumber=1)
    assert g["Body"].read() == b"" and g["ResponseMetadata"]["HTTPStatusCode"] == 200
    for n in [2, 3]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.get_object(Bucket=B, Key="pn/single", PartNumber=n)
        assert (status_of(e), code_of(e)) == (416, "InvalidPartNumber")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_object(Bucket=B, Key="pn/single", PartNumber=2)
    assert status_of(e) == 416
    # partNumber together with Range: 400 InvalidRequest, on GET and HEAD, even for part 1.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=B, Key="pn/single", PartNumber=1, Range="bytes=0-1")
    assert (status_of(e), code_of(e)) == (400, "InvalidRequest")
    assert "Cannot specify both Range header and partNumber query parameter" in e.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_object(Bucket=B, Key="pn/single", PartNumber=1, Range="bytes=0-1")
    assert status_of(e) == 400
