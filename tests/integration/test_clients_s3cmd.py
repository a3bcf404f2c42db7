"""s3cmd (Debian's s3cmd package) against mamute, unchanged: a config file written here (path-style
host_base/host_bucket, SigV4, plain http, us-east-1), then ls/la, put/get with MD5 checks,
multipart put (--multipart-chunk-size-mb=5: s3cmd checks each part's ETag against its MD5),
sync both ways (MD5 comparison, --delete-removed), info, del, and errors for a foreign bucket."""
import hashlib
import os

import pytest

from clients_util import MiB, cli, need_tool, start_target


@pytest.fixture(scope="module")
def s3cmd(tmp_path_factory):
    exe = need_tool("s3cmd")
    t = start_target(tmp_path_factory, "s3cmd-bucket")
    home = tmp_path_factory.mktemp("s3cmd-home")
    cfg = home / "s3cfg"
    cfg.write_text(f"""[default]
access_key = {t.ak}
secret_key = {t.sk}
host_base = 127.0.0.1:{t.srv.s3_port}
host_bucket = 127.0.0.1:{t.srv.s3_port}
use_https = False
signature_v2 = False
bucket_location = us-east-1
check_ssl_certificate = False
progress_meter = False
""")

    run = cli([exe, "-c", str(cfg)], env=dict(os.environ, HOME=str(home)))
    yield t, run, home
    assert t.srv.stop() == 0


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def test_ls_lists_only_the_keys_bucket(s3cmd):
    t, run, _ = s3cmd
    out = run("ls").stdout
    assert f"s3://{t.bucket}" in out and t.foreign not in out


def test_put_get_ls_info_del(s3cmd):
    t, run, home = s3cmd
    data = write(home / "one.txt", b"s3cmd says hello\n" * 100)
    out = run("put", str(home / "one.txt"), f"s3://{t.bucket}/dir/one.txt", "--mime-type=text/x-s3cmd",
              "--add-header=x-amz-meta-color:green").stdout
    assert "upload: " in out
    h = t.boto3().head_object(Bucket=t.bucket, Key="dir/one.txt")
    assert h["ETag"] == '"%s"' % hashlib.md5(data).hexdigest() and h["ContentType"] == "text/x-s3cmd"
    assert h["Metadata"]["color"] == "green"
    run("get", f"s3://{t.bucket}/dir/one.txt", str(home / "back.txt"), "--force")
    assert (home / "back.txt").read_bytes() == data
    ls = run("ls", f"s3://{t.bucket}/dir/").stdout
    assert f"s3://{t.bucket}/dir/one.txt" in ls and str(len(data)) in ls
    la = run("la", "-r").stdout
    assert f"s3://{t.bucket}/dir/one.txt" in la
    info = run("info", f"s3://{t.bucket}/dir/one.txt").stdout
    assert hashlib.md5(data).hexdigest() in info and "text/x-s3cmd" in info
    run("del", f"s3://{t.bucket}/dir/one.txt")
    assert t.boto3().list_objects_v2(Bucket=t.bucket, Prefix="dir/")["KeyCount"] == 0


def test_multipart_put_and_get(s3cmd):
    t, run, home = s3cmd
    data = write(home / "big.bin", os.urandom(12 * MiB + 4321))
    run("put", "--multipart-chunk-size-mb=5", str(home / "big.bin"), f"s3://{t.bucket}/big.bin")
    h = t.boto3().head_object(Bucket=t.bucket, Key="big.bin")
    assert h["ETag"].endswith('-3"') and h["ContentLength"] == len(data)
    run("get", f"s3://{t.bucket}/big.bin", str(home / "big.back"), "--force")
    assert (home / "big.back").read_bytes() == data
    # No upload is left open.
    assert "big.bin" not in run("multipart", f"s3://{t.bucket}").stdout


@pytest.mark.skipif(os.environ.get("MAMUTE_SANITIZED") == "1",
                    reason="s3cmd's start-up dominates (5 runs); the server side is plain PUT/GET/LIST/DeleteObjects, "
                           "covered under the sanitizer by the other client modules")
def test_sync_both_ways(s3cmd):
    t, run, home = s3cmd
    src = home / "tree"
    files = {f"a/{i}.txt": os.urandom(1000 + i) for i in range(5)}
    files["b/c/deep.bin"] = os.urandom(70000)
    files["with space.txt"] = b"space"
    for name, data in files.items():
        write(src / name, data)
    out = run("sync", str(src) + "/", f"s3://{t.bucket}/tree/").stdout
    assert out.count("upload:") == len(files), out
    # A second sync compares sizes and MD5s (the ETags) and uploads nothing.
    out = run("sync", str(src) + "/", f"s3://{t.bucket}/tree/").stdout
    assert "upload:" not in out, out
    # A changed file of the same size is found by its MD5.
    changed = bytearray(files["a/0.txt"])
    changed[0] ^= 0xFF
    files["a/0.txt"] = write(src / "a/0.txt", bytes(changed))
    (src / "a/4.txt").unlink()
    del files["a/4.txt"]
    out = run("sync", "--delete-removed", str(src) + "/", f"s3://{t.bucket}/tree/").stdout
    assert out.count("upload:") == 1 and "delete: " in out and "a/4.txt" in out, out
    keys = sorted(o["Key"] for o in t.boto3().list_objects_v2(Bucket=t.bucket, Prefix="tree/")["Contents"])
    assert keys == sorted("tree/" + n for n in files)
    # Back down into an empty directory.
    dst = home / "down"
    dst.mkdir()
    run("sync", f"s3://{t.bucket}/tree/", str(dst) + "/")
    for name, data in files.items():
        assert (dst / name).read_bytes() == data, name
    out = run("sync", f"s3://{t.bucket}/tree/", str(dst) + "/").stdout
    assert "download:" not in out, out


def test_foreign_bucket_is_denied(s3cmd):
    t, run, home = s3cmd
    write(home / "x.txt", b"x")
    p = run("put", str(home / "x.txt"), f"s3://{t.foreign}/x.txt", check=False)
    assert p.returncode != 0 and "AccessDenied" in p.stderr, p.stderr
    p = run("ls", f"s3://{t.foreign}", check=False)
    assert p.returncode != 0 and "AccessDenied" in p.stderr, p.stderr
