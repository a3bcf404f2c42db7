"""The AWS SDK for Go v2 as Debian packages it (golang-github-aws-aws-sdk-go-v2-dev: service/s3
1.29.x, feature/s3/manager 1.11.x; Go 1.19) against mamute: a static credentials provider,
UsePathStyle, PutObject/GetObject/HeadObject, ListObjectsV2 (paginator) and ListObjects v1,
DeleteObject/DeleteObjects, CopyObject, checksums (CRC32/CRC32C/SHA1/SHA256 headers, GET with
ChecksumMode ENABLED validated by the SDK), multipart through manager.Uploader and ranged
reads through manager.Downloader, ListParts/ListMultipartUploads/Abort, presigned PUT/GET,
bucket probes and typed errors.

The program (clients/go/main.go) is built offline at test time against Debian's GOPATH layout
(GO111MODULE=off, GOPATH=/usr/share/gocode) into a temporary directory; one process runs every
scenario and prints a JSON line each. Debian's service/s3 predates the SDK's 2025 checksum
defaults, so this module does not cover aws-chunked trailers (test_clients_node.py does)."""
import os
import subprocess
from pathlib import Path

import pytest

from clients_util import CLIENTS_DIR, SETUP_HINT, need_tool, run_scenarios

GO_DIR = CLIENTS_DIR / "go"
GOPATH = Path("/usr/share/gocode")
SDK = GOPATH / "src" / "github.com" / "aws" / "aws-sdk-go-v2"
SCENARIOS = ["put_get_head", "range_get", "list_v2_paginated", "list_v1", "delete_and_delete_objects", "copy_object",
             "checksums", "multipart_manager", "multipart_abort_and_list", "presigned_get_put", "bucket_probes",
             "errors", "listing_is_sorted_after_all"]


def go_env():
    env = dict(os.environ, GO111MODULE="off", GOPATH=str(GOPATH), GOFLAGS="", CGO_ENABLED="0")
    if "GOCACHE" not in env:
        # The build cache makes every build after the first take a second or two.
        base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.environ["HOME"], ".cache")
                                                    if os.environ.get("HOME") else "/tmp")
        env["GOCACHE"] = os.path.join(base, "mamute-go-build")
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    go = need_tool("go")
    for sub in ("service/s3", "feature/s3/manager", "credentials"):
        if not (SDK / sub).is_dir():
            pytest.skip(f"{SDK / sub} is missing: golang-github-aws-aws-sdk-go-v2-dev ({SETUP_HINT})")
    out = tmp_path_factory.mktemp("go-client") / "mamute-go-client"
    p = subprocess.run([go, "build", "-o", str(out), "."], cwd=GO_DIR, env=go_env(), capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, f"go build failed:\n{p.stdout}\n{p.stderr}"
    return out


@pytest.fixture(scope="module")
def run(built, tmp_path_factory):
    yield from run_scenarios(tmp_path_factory, "go-bucket", lambda t: [
        str(built), "-endpoint", t.endpoint, "-bucket", t.bucket, "-ak", t.ak, "-sk", t.sk, "-foreign", t.foreign],
        SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(run, name):
    run.check(name)


def test_boto3_reads_the_managers_multipart_object(run):
    r = run.check("multipart_manager")
    h = run.t.boto3().head_object(Bucket=run.t.bucket, Key="go/mpu")
    assert h["ETag"] == r["info"]["etag"]
    assert h["ContentLength"] == 11 * 1024 * 1024 + 12345 and h["ContentType"] == "application/x-go"
