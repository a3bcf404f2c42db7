"""Virtual-host style requests (--domain s3.local): real boto3 with addressing_style='virtual'
puts the bucket in the Host header ("bucket.s3.local:PORT"); the test process resolves *.s3.local
to 127.0.0.1 (socket.getaddrinfo wrapped for those names only), so the sockets, the Host header and
the SigV4 signature over the path as sent are all real. Path style keeps working on the same
server, and a Host equal to the domain is path style."""
import hashlib
import http.client
import os
import socket
import urllib.request

import boto3
import botocore
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from test_s3_auth import client, code_of, make_bucket
from test_s3_multipart import MiB, start

DOMAIN = "s3.local"


@pytest.fixture(scope="module")
def resolver():
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if isinstance(host, str) and (host == DOMAIN or host.endswith("." + DOMAIN)):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = fake
    yield
    socket.getaddrinfo = real


@pytest.fixture(scope="module")
def vh(tmp_path_factory, resolver):
    srv = start(tmp_path_factory, "vhost", domain=DOMAIN)
    _, c = make_bucket(srv, "vh-bucket")
    _, other = make_bucket(srv, "vh-other")
    yield srv, c, other
    assert srv.stop() == 0


def vclient(srv, c, style="virtual"):
    return boto3.client("s3", endpoint_url=f"http://{DOMAIN}:{srv.s3_port}", aws_access_key_id=c["access_key_id"],
                        aws_secret_access_key=c["secret_access_key"], region_name="us-east-1",
                        config=Config(s3={"addressing_style": style}, retries={"max_attempts": 1},
                                      signature_version="s3v4"))


def test_virtual_host_crud_listing_and_multipart(vh, tmp_path):
    srv, c, _ = vh
    s3 = vclient(srv, c)
    # boto3 sends GetBucketLocation path style (to the domain itself): both forms answer.
    assert s3.get_bucket_location(Bucket="vh-bucket")["LocationConstraint"] in (None, "us-east-1")
    hosts = []

    def note_host(request, **kw):
        h = request.headers.get("Host")
        hosts.append(h.decode() if isinstance(h, bytes) else h)

    s3.meta.events.register("before-send.s3", note_host)
    s3.head_bucket(Bucket="vh-bucket")
    s3.put_object(Bucket="vh-bucket", Key="dir/a b+c.txt", Body=b"hello", Metadata={"k": "v"})
    o = s3.get_object(Bucket="vh-bucket", Key="dir/a b+c.txt")
    assert o["Body"].read() == b"hello" and o["Metadata"] == {"k": "v"}
    assert o["ETag"] == '"%s"' % hashlib.md5(b"hello").hexdigest()
    # A key that looks like a bucket-prefixed path is still the key: the whole path is the key.
    s3.put_object(Bucket="vh-bucket", Key="vh-bucket/nested", Body=b"n")
    keys = [x["Key"] for x in s3.list_objects_v2(Bucket="vh-bucket")["Contents"]]
    assert keys == ["dir/a b+c.txt", "vh-bucket/nested"]
    assert [x["Key"] for x in s3.list_objects(Bucket="vh-bucket", Prefix="dir/")["Contents"]] == ["dir/a b+c.txt"]
    # Multipart (the transfer manager), and a ranged read.
    data = os.urandom(11 * MiB)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=2)
    s3.upload_file(str(src), "vh-bucket", "big.bin", Config=cfg)
    assert s3.get_object(Bucket="vh-bucket", Key="big.bin", Range="bytes=5-9")["Body"].read() == data[5:10]
    s3.delete_objects(Bucket="vh-bucket", Delete={"Objects": [{"Key": "big.bin"}, {"Key": "vh-bucket/nested"}]})
    s3.delete_object(Bucket="vh-bucket", Key="dir/a b+c.txt")
    assert s3.list_objects_v2(Bucket="vh-bucket")["KeyCount"] == 0
    # Every request really went out virtual-host style.
    assert hosts and all(h == f"vh-bucket.{DOMAIN}:{srv.s3_port}" for h in hosts), set(hosts)


def test_virtual_host_presigned_url(vh):
    srv, c, _ = vh
    s3 = vclient(srv, c)
    s3.put_object(Bucket="vh-bucket", Key="pre", Body=b"presigned")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "vh-bucket", "Key": "pre"}, ExpiresIn=60)
    assert url.startswith(f"http://vh-bucket.{DOMAIN}:{srv.s3_port}/pre?")
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"presigned"


def test_path_style_and_the_domain_itself(vh):
    srv, c, _ = vh
    # Path style to 127.0.0.1 and path style with Host equal to the domain both still work.
    for s3 in [client(srv, c["access_key_id"], c["secret_access_key"]), vclient(srv, c, style="path")]:
        s3.put_object(Bucket="vh-bucket", Key="p", Body=b"path")
        assert s3.get_object(Bucket="vh-bucket", Key="p")["Body"].read() == b"path"
    # ListBuckets goes to the domain itself (no bucket in the host).
    names = [b["Name"] for b in vclient(srv, c).list_buckets()["Buckets"]]
    assert names == ["vh-bucket"]


def test_virtual_host_is_authorized_like_path_style(vh):
    srv, c, other = vh
    s3 = vclient(srv, c)
    client(srv, other["access_key_id"], other["secret_access_key"]).put_object(Bucket="vh-other", Key="s", Body=b"x")
    for call in [lambda: s3.get_object(Bucket="vh-other", Key="s"),
                 lambda: s3.put_object(Bucket="vh-other", Key="s", Body=b"overwrite"),
                 lambda: s3.list_objects_v2(Bucket="vh-other"),
                 lambda: s3.copy_object(Bucket="vh-bucket", Key="stolen", CopySource={"Bucket": "vh-other", "Key": "s"})]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert code_of(e) == "AccessDenied"
    # A signature computed for another Host (the bucket moved out of the path) does not verify.
    req = s3.generate_presigned_url("get_object", Params={"Bucket": "vh-bucket", "Key": "p"}, ExpiresIn=60)
    path = req.split(f":{srv.s3_port}", 1)[1]
    conn = http.client.HTTPConnection("127.0.0.1", srv.s3_port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": f"vh-other.{DOMAIN}:{srv.s3_port}"})
        r = conn.getresponse()
        assert r.status == 403, r.read()
    finally:
        conn.close()
