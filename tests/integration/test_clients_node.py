"""The AWS SDK for JavaScript v3 (@aws-sdk/client-s3, @aws-sdk/lib-storage, @aws-sdk/s3-request-presigner
from npm, pinned by clients/node/package-lock.json) against mamute with its default settings: CRC32
checksums on every upload (a header for string/Buffer bodies, an aws-chunked
STREAMING-UNSIGNED-PAYLOAD-TRAILER body with an x-amz-checksum-crc32 trailer for streams), response
checksum validation on GET, multipart through lib-storage, presigned GET/PUT.

One node process runs every scenario (clients/node/scenarios.mjs) and prints a JSON line each;
each test here asserts one scenario, and boto3 cross-checks what the SDK stored."""
import base64
import hashlib
import json
import zlib

import pytest

from clients_util import CLIENTS_DIR, SETUP_HINT, need_tool, run_scenarios

NODE_DIR = CLIENTS_DIR / "node"
SCENARIOS = ["put_string", "put_buffer", "put_stream_unsigned_trailer", "put_file_stream", "checksum_algorithms",
             "corrupted_trailer_refused", "head_object", "list_v2_pagination", "delete_objects", "copy_object",
             "multipart_lib_storage", "presigned_get_put", "bucket_probes", "errors"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    node = need_tool("node")
    if not (NODE_DIR / "node_modules" / "@aws-sdk" / "client-s3").is_dir():
        pytest.skip(f"{NODE_DIR}/node_modules is missing: `npm ci` there ({SETUP_HINT})")
    yield from run_scenarios(tmp_path_factory, "node-bucket", lambda t: [node, "scenarios.mjs", json.dumps(
        {"endpoint": t.endpoint, "bucket": t.bucket, "ak": t.ak, "sk": t.sk, "foreign": t.foreign})],
        SCENARIOS, cwd=NODE_DIR)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(run, name):
    run.check(name)


def test_sdk_version_is_the_pinned_one():
    lock = json.loads((NODE_DIR / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/@aws-sdk/client-s3"]["version"]
    installed = NODE_DIR / "node_modules" / "@aws-sdk" / "client-s3" / "package.json"
    if not installed.exists():
        pytest.skip(f"node_modules missing ({SETUP_HINT})")
    assert json.loads(installed.read_text())["version"] == pinned
    # 3.729.0 is the first release with the 2025 checksum defaults this module is about.
    assert tuple(int(x) for x in pinned.split(".")) >= (3, 729, 0)


def test_boto3_reads_what_the_sdk_streamed(run):
    run.check("put_stream_unsigned_trailer")
    t = run.t
    s3 = t.boto3()
    o = s3.get_object(Bucket=t.bucket, Key="js/stream.bin", ChecksumMode="ENABLED")
    body = o["Body"].read()
    assert len(body) == 1024 * 1024 + 12345  # the decoded length, no aws-chunked framing stored
    assert b"x-amz-checksum-crc32" not in body and b";chunk-signature" not in body
    assert o["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    assert o["ChecksumCRC32"] == base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
