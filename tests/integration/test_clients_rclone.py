"""rclone (Debian's rclone package) against mamute, unchanged: an S3 remote defined by environment
variables (provider Other, force_path_style, region us-east-1), then mkdir of the existing bucket
(CreateBucket: BucketAlreadyOwnedByYou is success), copy, check (sizes and MD5 = ETag),
sync with deletions, lsf, cat, delete, a multipart upload (upload cutoff and chunk size lowered
to 5 MiB; rclone keeps the file's MD5 in x-amz-meta-md5chksum and check compares it), a
download checked against the source, and a foreign bucket refused."""
import hashlib
import os

import pytest

from clients_util import MiB, cli, need_tool, start_target


@pytest.fixture(scope="module")
def rclone(tmp_path_factory):
    exe = need_tool("rclone")
    t = start_target(tmp_path_factory, "rclone-bucket")
    home = tmp_path_factory.mktemp("rclone-home")
    # rclone's S3 backend (AWS SDK for Go v1) refuses to start when AWS_CA_BUNDLE is set
    # ("unable to load custom CA bundle ... unsupported transport"): keep the environment's
    # AWS_* and RCLONE_* settings away from it; the remote is defined here alone.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RCLONE_", "AWS_"))}
    env.update(HOME=str(home), RCLONE_CONFIG=str(home / "none.conf"),
               RCLONE_CONFIG_MAMUTE_TYPE="s3", RCLONE_CONFIG_MAMUTE_PROVIDER="Other",
               RCLONE_CONFIG_MAMUTE_ACCESS_KEY_ID=t.ak, RCLONE_CONFIG_MAMUTE_SECRET_ACCESS_KEY=t.sk,
               RCLONE_CONFIG_MAMUTE_ENDPOINT=t.endpoint, RCLONE_CONFIG_MAMUTE_REGION="us-east-1",
               RCLONE_CONFIG_MAMUTE_FORCE_PATH_STYLE="true")

    run = cli([exe, "--retries", "1", "--low-level-retries", "1"], env=env)
    yield t, run, home
    assert t.srv.stop() == 0


def make_tree(root, files):
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def test_copy_check_sync_lsf_cat_delete(rclone):
    t, run, home = rclone
    src = home / "src"
    files = {f"d/{i}.bin": os.urandom(3000 + i) for i in range(6)}
    files["top.txt"] = b"rclone was here\n"
    files["odd name+plus (1).txt"] = b"odd"
    make_tree(src, files)
    remote = f"mamute:{t.bucket}/tree"
    # rclone's copy checks the bucket with a listing; mkdir sends CreateBucket and must take
    # BucketAlreadyOwnedByYou as success.
    run("mkdir", f"mamute:{t.bucket}")
    assert f'"method":"PUT","path":"/{t.bucket}","route":"s3","status":409' in t.srv.stdout_text()
    run("copy", str(src), remote)
    run("check", str(src), remote)  # sizes and MD5s (ETags) agree
    assert sorted(run("lsf", "-R", "--files-only", remote).stdout.split("\n")[:-1]) == sorted(files)
    assert run("cat", f"{remote}/top.txt").stdout == "rclone was here\n"
    # A change that keeps the size is still found by the MD5 comparison.
    changed = bytearray(files["d/0.bin"])
    changed[10] ^= 1
    files["d/0.bin"] = bytes(changed)
    (src / "d/0.bin").write_bytes(files["d/0.bin"])
    p = run("check", str(src), remote, check=False)
    assert p.returncode != 0 and "d/0.bin" in p.stderr, p.stderr
    (src / "d/5.bin").unlink()
    del files["d/5.bin"]
    run("sync", str(src), remote)
    run("check", str(src), remote)
    keys = sorted(o["Key"] for o in t.boto3().list_objects_v2(Bucket=t.bucket, Prefix="tree/")["Contents"])
    assert keys == sorted("tree/" + n for n in files)
    run("delete", f"{remote}/d")
    assert sorted(run("lsf", "-R", "--files-only", remote).stdout.split("\n")[:-1]) == \
        sorted(n for n in files if not n.startswith("d/"))


def test_multipart_upload_and_download(rclone):
    t, run, home = rclone
    src = home / "big"
    src.mkdir()
    data = os.urandom(11 * MiB + 77)
    (src / "big.bin").write_bytes(data)
    remote = f"mamute:{t.bucket}/big"
    run("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "--s3-upload-concurrency", "2",
        "--s3-no-check-bucket", str(src), remote)
    h = t.boto3().head_object(Bucket=t.bucket, Key="big/big.bin")
    assert h["ETag"].endswith('-3"') and h["ContentLength"] == len(data)
    assert h["Metadata"].get("md5chksum")  # rclone's own MD5 of a multipart object
    run("check", str(src), remote)
    down = home / "down"
    run("copy", remote, str(down))
    assert hashlib.md5((down / "big.bin").read_bytes()).hexdigest() == hashlib.md5(data).hexdigest()
    run("check", "--download", str(src), remote)


def test_foreign_bucket_is_denied(rclone):
    t, run, home = rclone
    p = run("lsf", f"mamute:{t.foreign}", check=False)
    assert p.returncode != 0 and "AccessDenied" in p.stderr, p.stderr
    (home / "x").mkdir()
    (home / "x" / "f").write_bytes(b"x")
    p = run("copy", str(home / "x"), f"mamute:{t.foreign}/x", check=False)
    assert p.returncode != 0 and "AccessDenied" in p.stderr, p.stderr
