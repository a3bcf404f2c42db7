"""Integration tests of mamute's HTTP foundation, against the real binary.

Everything talks raw HTTP/1.1 over sockets on 127.0.0.1 (plus curl where it is
installed), so framing, pipelining, timeouts and connection handling are
checked byte for byte. See conftest.py for the server fixtures.
"""

import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

REQUEST_ID_RE = re.compile(r"^[0-9A-F]{16}$")
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = (1 << 64) - 1

# ---------------------------------------------------------------------- known server bugs
# Each test marked with one of these fails today because of the bug named; the
# marks are strict, so the test reports XPASS (a failure) once the bug is fixed:
# then remove the mark. (Fixed and unmarked since: timers on a quiet shard, held
# input after a full head buffer, unknown-method capture on a reused parser, early
# responses not closing, llhttp built without strict mode.)
BUG_CHUNK_EXT_PAIRS = pytest.mark.xfail(strict=True, reason=(
    "BUG (dependency): llhttp 8.1.0 from Debian's node-llhttp rejects a chunk line with more than one "
    "name=value extension ('3;a=1;b=2') as 'invalid chunk size'; RFC 9112 7.1.1 allows it. Fixed "
    "upstream in nodejs/llhttp PR #248 (llhttp 9.1)"))


# ====================================================================== helpers

def fnv1a64(data, h=FNV_OFFSET):
    for c in data:
        h = ((h ^ c) * FNV_PRIME) & MASK64
    return h


def fnv1a64_zeros(n, h):
    """FNV-1a over n zero bytes: XOR with 0 is the identity, so h * P^n."""
    return (h * pow(FNV_PRIME, n, 1 << 64)) & MASK64


def echo_body(data):
    """What /_test/echo answers for a received body."""
    return f"{len(data)} {fnv1a64(data):016x}\n".encode()


class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) as sent
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def closes(self):
        return (self.header("connection") or "").lower() == "close"

    def __repr__(self):
        return f"<Response {self.status} {self.headers} body={self.body[:200]!r}>"


class Conn:
    """A raw HTTP/1.1 client connection with a receive buffer."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("connection closed by the server")
        self.buf += chunk

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, method="GET"):
        """Reads one response (a 1xx interim response is returned as such)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        assert version == "HTTP/1.1", lines[0]
        headers = []
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            assert sep, f"bad header line {line!r}"
            headers.append((k, v.strip()))
        r = Response(int(status), reason, headers, b"", head)
        if r.status < 200 or method == "HEAD" or r.status in (204, 304):
            return r
        cl = r.header("content-length")
        assert cl is not None, f"response without Content-Length: {r}"
        r.body = self.read_exact(int(cl))
        return r

    def request(self, method, path, body=None, headers=(), version="HTTP/1.1"):
        self.send(build_request(method, path, body, headers, version))
        return self.read_response(method)

    def expect_eof(self, timeout=5.0):
        """Asserts the server closes the connection (EOF or reset) within timeout,
        sending nothing more. Returns the seconds it took."""
        assert self.buf == b"", f"unexpected extra bytes: {self.buf[:200]!r}"
        t0 = time.monotonic()
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            pytest.fail(f"connection still open after {timeout} s")
        finally:
            self.sock.settimeout(self.timeout)
        assert data == b"", f"expected EOF, got {data[:200]!r}"
        return time.monotonic() - t0

    def nothing_within(self, seconds):
        """True if the server sends nothing (and does not close) for `seconds`."""
        if self.buf:
            return False
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(self.timeout)
        self.buf += data
        return False


def build_request(method, path, body=None, headers=(), version="HTTP/1.1"):
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1"]
    names = {h.split(":", 1)[0].strip().lower() for h in headers}
    lines += list(headers)
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def chunked(pieces, ext=None, trailers=()):
    out = b""
    for p in pieces:
        if isinstance(p, str):
            p = p.encode()
        out += f"{len(p):x}".encode() + (ext.encode() if ext else b"") + b"\r\n" + p + b"\r\n"
    out += b"0\r\n" + b"".join(t.encode() + b"\r\n" for t in trailers) + b"\r\n"
    return out


def assert_common_headers(r, closes=False):
    assert r.header("server") == "mamute", r
    assert r.header("date") and r.header("date").endswith(" GMT"), r
    assert REQUEST_ID_RE.match(r.header("x-amz-request-id", "")), r
    assert r.header("content-length") is not None, r
    assert len(r.header_all("content-length")) == 1, r
    assert r.closes == closes, r


def one_request(port, method, path, body=None, headers=()):
    with Conn(port) as c:
        return c.request(method, path, body, headers)


# ====================================================================== management API

def test_healthz(server):
    with Conn(server.api_port) as c:
        r = c.request("GET", "/healthz")
        assert r.status == 200
        assert r.body == b'{"status":"ok"}\n'
        assert r.header("content-type") == "application/json"
        assert r.header("content-length") == str(len(r.body))
        assert_common_headers(r)
        # HEAD: the same head, no body; the connection stays usable.
        h = c.request("HEAD", "/healthz")
        assert h.status == 200 and h.body == b""
        assert h.header("content-length") == str(len(r.body))
        assert c.request("GET", "/healthz").body == b'{"status":"ok"}\n'


def test_metrics_exposition(server):
    one_request(server.s3_port, "GET", "/_test/bytes?n=1")
    r = one_request(server.api_port, "GET", "/metrics")
    assert r.status == 200
    assert r.header("content-type", "").startswith("text/plain")
    text = r.body.decode()
    for name in ["mamute_http_requests_total", "mamute_http_header_timeouts_total",
                 "mamute_http_idle_timeouts_total", "mamute_http_body_timeouts_total",
                 "mamute_http_connections_rejected_total", "mamute_http_parse_errors_total",
                 "mamute_http_open_connections"]:
        assert f"# TYPE {name} " in text, name
    assert re.search(r'^mamute_http_requests_total\{service="s3",shard="0",route="test:bytes",status="200"\} [1-9]\d*$',
                     text, re.M), text
    assert re.search(r'^mamute_http_requests_total\{service="mgmt",shard="1",route="GET /healthz",status="200"\} [1-9]\d*$',
                     text, re.M), text
    for line in text.splitlines():
        # Prometheus text format: a sample is `name value` or `name{labels} value`.
        assert line.startswith("#") or re.match(r'^[a-z_]+(\{[^}]*\})? \d+$', line), line


def test_metrics_count_requests_exactly(start_server):
    srv = start_server()
    before = srv.metric("mamute_http_requests_total", route="test:echo", status="200")
    with Conn(srv.s3_port) as c:
        for i in range(7):
            assert c.request("PUT", "/_test/echo", b"abc").status == 200
    assert srv.metric("mamute_http_requests_total", route="test:echo", status="200") == before + 7


def test_mgmt_unknown_path_404_json(server):
    r = one_request(server.api_port, "GET", "/no/such/thing")
    assert r.status == 404
    assert r.header("content-type") == "application/json"
    assert_common_headers(r)
    j = json.loads(r.body)
    assert j["error"]["code"] == "not_found"
    assert isinstance(j["error"]["message"], str) and j["error"]["message"]
    assert j["error"]["request_id"] == r.header("x-amz-request-id")


@pytest.mark.parametrize("path", ["/iam/users", "/dns/zones", "/cdn/distributions"])
def test_mgmt_seed_surface_501_json(server, path):
    r = one_request(server.api_port, "GET", path)
    assert r.status == 501
    assert r.header("content-type") == "application/json"
    assert_common_headers(r)
    j = json.loads(r.body)
    assert j["error"]["code"] == "not_implemented"
    assert j["error"]["request_id"] == r.header("x-amz-request-id")


def test_mgmt_method_not_allowed(server):
    r = one_request(server.api_port, "POST", "/healthz", b"")
    assert r.status == 405
    assert json.loads(r.body)["error"]["code"] == "method_not_allowed"


# ====================================================================== S3 port

@pytest.mark.parametrize("method,path", [("GET", "/"), ("GET", "/bucket"), ("GET", "/bucket/some/key?versionId=3"),
                                         ("DELETE", "/bucket/key"), ("POST", "/bucket?delete")])
def test_s3_anonymous_request_is_access_denied_xml(server, method, path):
    r = one_request(server.s3_port, method, path)
    assert r.status == 403
    assert r.header("content-type") == "application/xml"
    assert_common_headers(r)
    assert r.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(r.body)
    assert root.tag == "Error"
    assert root.findtext("Code") == "AccessDenied"
    assert root.findtext("Message")
    assert root.findtext("RequestId") == r.header("x-amz-request-id")


def test_s3_request_ids_unique_and_head_has_no_body(server):
    with Conn(server.s3_port) as c:
        ids = set()
        for _ in range(50):
            r = c.request("GET", "/b/k")
            assert r.status == 403
            ids.add(r.header("x-amz-request-id"))
        assert len(ids) == 50
        h = c.request("HEAD", "/b/k")
        assert h.status == 403 and h.body == b""
        assert int(h.header("content-length")) > 0
        # Had the server sent a body after the HEAD response, this would misparse.
        r = c.request("GET", "/_test/bytes?n=3")
        assert (r.status, r.body) == (200, b"xxx")


def test_handler_answering_before_body_closes(server):
    """S3 answers an unsigned PUT on the head (403): the unread body forces a close."""
    with Conn(server.s3_port) as c:
        c.send(build_request("PUT", "/bucket/key", b"0123456789" * 100))
        r = c.read_response()
        assert r.status == 403
        assert_common_headers(r, closes=True)
        assert ET.fromstring(r.body).findtext("RequestId") == r.header("x-amz-request-id")
        c.expect_eof()


def test_handler_answering_before_body_with_expect_gets_no_100(server):
    with Conn(server.s3_port) as c:
        c.send(build_request("PUT", "/bucket/key", None, ["Content-Length: 1000", "Expect: 100-continue"]))
        r = c.read_response()
        assert r.status == 403, "a handler that answers on the head must not get a 100 Continue first"
        assert_common_headers(r, closes=True)
        assert r.header("content-type") == "application/xml"


@pytest.mark.parametrize("expect", [False, True], ids=["partial-body", "expect-100"])
def test_early_response_closes_without_reading_body(start_server, expect):
    """After answering (and saying Connection: close) on the head of a 1 MB PUT,
    the server must close soon, not wait for the body or the 10 s body timeout."""
    srv = start_server(body_timeout_ms=10000)
    with Conn(srv.s3_port) as c:
        hdrs = ["Content-Length: 1000000"] + (["Expect: 100-continue"] if expect else [])
        c.send(build_request("PUT", "/bucket/key", None, hdrs) + (b"" if expect else b"z" * 100))
        r = c.read_response()
        assert r.status == 403 and r.closes
        assert c.expect_eof(timeout=3) < 2.0


def test_curl_roundtrip(server, tmp_path):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl not installed")
    payload = bytes(range(256)) * 1000
    f = tmp_path / "payload"
    f.write_bytes(payload)
    out = subprocess.run([curl, "-sS", "-X", "PUT", "--data-binary", f"@{f}", "-H", "Expect: 100-continue",
                          f"http://127.0.0.1:{server.s3_port}/_test/echo"],
                         capture_output=True, timeout=20, check=True)
    assert out.stdout == echo_body(payload)
    out = subprocess.run([curl, "-sS", "-H", "Transfer-Encoding: chunked", "-H", "Expect: 100-continue",
                          "--data-binary", f"@{f}",
                          f"http://127.0.0.1:{server.s3_port}/_test/echo"],
                         capture_output=True, timeout=20, check=True)
    assert out.stdout == echo_body(payload)
    # Two requests on one keep-alive connection, and HEAD.
    out = subprocess.run([curl, "-sS", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code} %{size_download} "
                          "%{num_connects}\n", f"http://127.0.0.1:{server.s3_port}/_test/bytes?n=100000",
                          f"http://127.0.0.1:{server.s3_port}/_test/bytes?n=5"],
                         capture_output=True, timeout=20, check=True)
    assert out.stdout == b"200 100000 1\n200 5 0\n"
    out = subprocess.run([curl, "-sS", "-I", f"http://127.0.0.1:{server.s3_port}/b/k"],
                         capture_output=True, timeout=20, check=True)
    assert out.stdout.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert re.search(rb"\r\nx-amz-request-id: [0-9A-F]{16}\r\n", out.stdout)


# ====================================================================== keep-alive, pipelining

def test_keepalive_10000_requests_one_connection(server):
    total, batch = 10000, 500
    req = build_request("GET", "/_test/bytes?n=2")
    ids = set()
    accepted0 = server.metric("mamute_http_connections_accepted_total")
    counted0 = server.metric("mamute_http_requests_total", route="test:bytes", status="200")
    with Conn(server.s3_port) as c:
        for _ in range(total // batch):
            c.send(req * batch)
            for _ in range(batch):
                r = c.read_response()
                assert r.status == 200 and r.body == b"xx", r
                assert not r.closes
                ids.add(r.header("x-amz-request-id"))
        # Still the same, live connection.
        r = c.request("PUT", "/_test/echo", b"last")
        assert r.body == echo_body(b"last")
    assert len(ids) == total
    assert server.metric("mamute_http_connections_accepted_total") == accepted0 + 1
    assert server.metric("mamute_http_requests_total", route="test:bytes", status="200") == counted0 + total


def test_pipelining_mixed_in_order(server):
    chunked_body = chunked(["ab", "cde"])
    reqs = [
        ("GET", build_request("GET", "/_test/bytes?n=3"), b"xxx"),
        ("PUT", build_request("PUT", "/_test/echo", b"hello world"), echo_body(b"hello world")),
        ("GET", build_request("GET", "/_test/bytes?n=0"), b""),
        ("HEAD", build_request("HEAD", "/_test/bytes?n=9"), b""),
        ("POST", build_request("POST", "/_test/echo", None, ["Transfer-Encoding: chunked"]) + chunked_body,
         echo_body(b"abcde")),
        ("GET", build_request("GET", "/_test/sleep?ms=100"), b"slept\n"),
        ("PUT", build_request("PUT", "/_test/echo", b""), echo_body(b"")),
        ("GET", build_request("GET", "/_test/bytes?n=7"), b"xxxxxxx"),
    ]
    with Conn(server.s3_port) as c:
        c.send(b"".join(r[1] for r in reqs))
        for method, _, want in reqs:
            r = c.read_response(method)
            assert r.status == 200, (method, r)
            assert r.body == want, (method, r)
            assert not r.closes
        # The HEAD answer carried the GET length but no body.
        c.send(build_request("HEAD", "/_test/bytes?n=9"))
        h = c.read_response("HEAD")
        assert h.header("content-length") == "9"
        assert c.nothing_within(0.3)


def test_pipelined_request_split_across_sends(server):
    """Requests split at awkward points (inside the head, inside the body)."""
    data = build_request("PUT", "/_test/echo", b"0123456789") + build_request("GET", "/_test/bytes?n=4")
    with Conn(server.s3_port) as c:
        for i in range(0, len(data), 7):
            c.send(data[i:i + 7])
            time.sleep(0.002)
        assert c.read_response().body == echo_body(b"0123456789")
        assert c.read_response().body == b"xxxx"


def test_http10_closes_unless_keepalive(server):
    with Conn(server.s3_port) as c:
        c.send(build_request("GET", "/_test/bytes?n=1", version="HTTP/1.0"))
        r = c.read_response()
        assert r.status == 200 and r.body == b"x" and r.closes
        c.expect_eof()
    with Conn(server.s3_port) as c:
        r = c.request("GET", "/_test/bytes?n=1", headers=["Connection: keep-alive"], version="HTTP/1.0")
        assert r.status == 200 and r.header("connection", "").lower() == "keep-alive"
        assert c.request("GET", "/_test/bytes?n=2").body == b"xx"


def test_connection_close_request(server):
    with Conn(server.s3_port) as c:
        r = c.request("GET", "/_test/bytes?n=1", headers=["Connection: close"])
        assert r.status == 200 and r.closes
        c.expect_eof()


# ====================================================================== bodies

def test_expect_100_continue(server):
    body = b"continue me please"
    with Conn(server.s3_port) as c:
        c.send(build_request("PUT", "/_test/echo", None,
                             [f"Content-Length: {len(body)}", "Expect: 100-continue"]))
        interim = c.read_exact(len(b"HTTP/1.1 100 Continue\r\n\r\n"))
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        # Nothing else until the body arrives.
        assert c.nothing_within(0.3)
        c.send(body)
        r = c.read_response()
        assert r.status == 200 and r.body == echo_body(body)
        assert_common_headers(r)
        # The connection is reusable, and a request without Expect gets no 100.
        r = c.request("PUT", "/_test/echo", b"again")
        assert r.status == 200 and r.body == echo_body(b"again")


def test_expect_100_continue_chunked(server):
    with Conn(server.s3_port) as c:
        c.send(build_request("POST", "/_test/echo", None, ["Transfer-Encoding: chunked", "Expect: 100-continue"]))
        r = c.read_response()
        assert r.status == 100 and r.headers == []
        c.send(chunked(["abc", "def"]))
        r = c.read_response()
        assert r.status == 200 and r.body == echo_body(b"abcdef")


def test_chunked_echo_with_extensions_and_trailers(server):
    pieces = [b"a", b"\r\n0\r\n\r\n", bytes(range(256)), b"x" * 70000, b"end"]
    data = b"".join(pieces)
    raw = (b"1;name=value\r\na\r\n"
           b"7;foo;bar=\"q\"\r\n\r\n0\r\n\r\n\r\n"
           + b"100\r\n" + bytes(range(256)) + b"\r\n"
           + b"11170;e2=\"a b;c\"\r\n" + b"x" * 70000 + b"\r\n"
           + b"3\r\nend\r\n"
           + b"0;last=yes\r\nX-Trailer: t\r\n\r\n")
    with Conn(server.s3_port) as c:
        # Expect: 100-continue keeps the head and the body in separate reads (see BUG_HELD_INPUT).
        c.send(build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked", "Expect: 100-continue"]))
        assert c.read_response().status == 100
        c.send(raw)
        r = c.read_response()
        assert r.status == 200, r
        assert r.body == echo_body(data)
        # Upper-case hex sizes and a zero-length body.
        c.send(build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked"])
               + b"A\r\n0123456789\r\n0\r\n\r\n")
        assert c.read_response().body == echo_body(b"0123456789")
        c.send(build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked"]) + b"0\r\n\r\n")
        assert c.read_response().body == echo_body(b"")


@BUG_CHUNK_EXT_PAIRS
def test_chunk_with_several_extension_values(server):
    with Conn(server.s3_port, timeout=4) as c:
        c.send(build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked"])
               + b"3;a=1;b=2\r\nabc\r\n0\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == echo_body(b"abc"), r


def test_chunked_many_small_chunks(server):
    pieces = [bytes([i % 251]) * (i % 17 + 1) for i in range(2000)]
    with Conn(server.s3_port) as c:
        c.send(build_request("POST", "/_test/echo", None, ["Transfer-Encoding: chunked", "Expect: 100-continue"]))
        assert c.read_response().status == 100
        c.send(chunked(pieces))
        r = c.read_response()
        assert r.status == 200 and r.body == echo_body(b"".join(pieces))


def _large_body_stream(total, segment=65536, chunk_sizes=(1048573, 65536, 333331, 7, 4 * 1048576 + 1)):
    """Yields (chunk bytes) of a body of `total` bytes made of segments: 64
    bytes of index-derived content (including CRLFs and chunk-like text), then
    zeros. Returns the FNV-1a too, computed with the zero-run shortcut."""
    state = {"h": FNV_OFFSET}

    def segment_bytes(i):
        head = (f"{i:08x}\r\n0\r\n\r\n".encode() + bytes((i * 7 + k) & 0xFF for k in range(64)))[:64]
        return head

    def gen():
        produced = 0
        seg_index, seg_off = 0, 0
        k = 0
        while produced < total:
            want = min(chunk_sizes[k % len(chunk_sizes)], total - produced)
            k += 1
            parts = []
            left = want
            while left:
                if seg_off < 64:
                    head = segment_bytes(seg_index)[seg_off:seg_off + left]
                    state["h"] = fnv1a64(head, state["h"])
                    parts.append(head)
                    n = len(head)
                else:
                    n = min(left, segment - seg_off)
                    state["h"] = fnv1a64_zeros(n, state["h"])
                    parts.append(bytes(n))
                seg_off += n
                left -= n
                if seg_off == segment:
                    seg_index, seg_off = seg_index + 1, 0
            produced += want
            yield b"".join(parts)

    return gen(), state


def _upload_chunked_stream(c, total):
    gen, state = _large_body_stream(total)
    c.send(build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked", "Expect: 100-continue"]))
    assert c.read_response().status == 100
    sent = 0
    for piece in gen:
        c.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        sent += len(piece)
    c.send(b"0\r\n\r\n")
    r = c.read_response()
    assert sent == total
    assert r.status == 200, r
    assert r.body == f"{total} {state['h']:016x}\n".encode()


def test_large_chunked_body_is_streamed(start_server):
    """64 MiB chunked through /_test/echo, FNV-1a checked on the client side;
    the server's peak RSS must not grow with the body (bounded streaming)."""
    srv = start_server(body_timeout_ms=10000)
    with Conn(srv.s3_port, timeout=20) as c:
        # Warm-up: 36 MiB cycles through every provided receive buffer (1024 x
        # 32 KiB, touched lazily), so what follows measures the request path only.
        _upload_chunked_stream(c, 36 << 20)
        try:
            with open(f"/proc/{srv.proc.pid}/clear_refs", "w") as f:
                f.write("5")  # reset VmHWM to the current RSS
        except OSError:
            pass
        rss_before = srv.status_field("VmRSS")
        _upload_chunked_stream(c, 64 << 20)
        hwm = srv.status_field("VmHWM")
    grew_kib = hwm - rss_before
    if os.environ.get("MAMUTE_SANITIZED"):
        pytest.skip("ASan's quarantine and shadow memory make RSS meaningless here")
    assert grew_kib < 16 * 1024, f"peak RSS grew by {grew_kib // 1024} MiB during a 64 MiB upload"


def test_receive_buffer_exhaustion_recovers(start_server):
    """With 4 provided buffers a fast upload runs the shard out of them
    (-ENOBUFS); the connection must resume on the 20 ms retry timer."""
    srv = start_server(recv_buffers=4, shutdown_timeout_ms=500)
    total = 8 << 20
    gen, state = _large_body_stream(total)
    with Conn(srv.s3_port, timeout=5) as c:
        c.send(build_request("PUT", "/_test/echo", None, [f"Content-Length: {total}", "Expect: 100-continue"]))
        assert c.read_response().status == 100
        for piece in gen:
            c.send(piece)
        r = c.read_response()
        assert r.status == 200 and r.body == f"{total} {state['h']:016x}\n".encode()


def test_large_content_length_body(server):
    total = 8 << 20
    gen, state = _large_body_stream(total)
    with Conn(server.s3_port, timeout=60) as c:
        c.send(build_request("PUT", "/_test/echo", None, [f"Content-Length: {total}", "Expect: 100-continue"]))
        assert c.read_response().status == 100
        for piece in gen:
            c.send(piece)
        r = c.read_response()
        assert r.status == 200 and r.body == f"{total} {state['h']:016x}\n".encode()
        # A pipelined request right after a large body still works.
        assert c.request("GET", "/_test/bytes?n=1").body == b"x"


def test_server_backpressure_is_not_client_silence(server):
    """The handler holds the body back (a PUT waiting for a slow disk): the body timeout
    (1 s here) measures the client's silence only, so a 2.5 s server-side pause is no 408."""
    total = 8 << 20
    gen, state = _large_body_stream(total)
    with Conn(server.s3_port, timeout=60) as c:
        c.send(build_request("PUT", "/_test/echo?pause_ms=2500", None, [f"Content-Length: {total}"]))
        for piece in gen:
            c.send(piece)
        r = c.read_response()
        assert r.status == 200, r
        assert r.body == f"{total} {state['h']:016x}\n".encode()


def test_large_response(server):
    n = 8 << 20
    with Conn(server.s3_port, timeout=30) as c:
        r = c.request("GET", f"/_test/bytes?n={n}")
        assert r.status == 200 and len(r.body) == n and r.body.count(b"x") == n
        assert c.request("GET", "/_test/bytes?n=1").body == b"x"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_head_and_large_body_in_one_send(server, framing):
    """What curl and most clients do: the head and the first 64 KiB of body in
    one write, so one receive holds more than the 16 KiB head buffer."""
    body = bytes(range(256)) * 256  # 64 KiB
    with Conn(server.s3_port, timeout=4) as c:
        if framing == "chunked":
            c.send(build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked"]) + chunked([body]))
        else:
            c.send(build_request("PUT", "/_test/echo", body))
        r = c.read_response()
        assert r.status == 200 and r.body == echo_body(body)


# ====================================================================== malformed requests

BIG_HEADER = "X-Big: " + "a" * (17 * 1024)
MANY_HEADERS = [f"X-H{i}: " + "b" * 100 for i in range(170)]  # ~18 KiB in all

MALFORMED = [
    # id, raw request, expected status
    ("header-block-too-large", build_request("GET", "/", None, [BIG_HEADER]), 431),
    ("many-headers-too-large", build_request("GET", "/", None, MANY_HEADERS), 431),
    ("uri-too-long", build_request("GET", "/k?" + "q" * 9000), 414),
    ("path-too-long", build_request("GET", "/" + "p" * 8200), 414),
    ("cl-and-te", build_request("PUT", "/_test/echo", None, ["Content-Length: 5", "Transfer-Encoding: chunked"])
     + b"5\r\nhello\r\n0\r\n\r\n", 400),
    ("te-and-cl", build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked", "Content-Length: 5"])
     + b"5\r\nhello\r\n0\r\n\r\n", 400),
    ("duplicate-cl-same", build_request("PUT", "/_test/echo", None, ["Content-Length: 5", "Content-Length: 5"])
     + b"hello", 400),
    ("duplicate-cl-different", build_request("PUT", "/_test/echo", None, ["Content-Length: 5", "Content-Length: 6"])
     + b"hello!", 400),
    ("cl-list", build_request("PUT", "/_test/echo", None, ["Content-Length: 5, 5"]) + b"hello", 400),
    ("cl-not-a-number", build_request("PUT", "/_test/echo", None, ["Content-Length: abc"]), 400),
    ("cl-negative", build_request("PUT", "/_test/echo", None, ["Content-Length: -1"]), 400),
    ("cl-plus-sign", build_request("PUT", "/_test/echo", None, ["Content-Length: +5"]) + b"hello", 400),
    ("cl-hex", build_request("PUT", "/_test/echo", None, ["Content-Length: 0x5"]) + b"hello", 400),
    ("cl-overflow", build_request("PUT", "/_test/echo", None, ["Content-Length: 99999999999999999999999"]), 400),
    ("chunk-size-not-hex", build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked"])
     + b"zz\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk-missing-crlf", build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked"])
     + b"5\r\nhelloXX5\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk-garbage-then-last-chunk", build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked"])
     + b"3\r\nabcXY0\r\n\r\n", 400),
    ("chunk-size-overflow", build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked"])
     + b"fffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk-negative", build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked"])
     + b"-5\r\nhello\r\n0\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\n\r\n", 400),
    ("obs-fold-tab", b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n\tb\r\n\r\n", 400),
    ("te-gzip", build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: gzip"]) + b"hello", 400),
    ("te-gzip-chunked", build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: gzip, chunked"])
     + b"5\r\nhello\r\n0\r\n\r\n", 501),
    ("te-chunked-gzip", build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked, gzip"])
     + b"5\r\nhello\r\n0\r\n\r\n", 400),
    ("te-duplicate", build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked",
                                                                 "Transfer-Encoding: chunked"])
     + b"5\r\nhello\r\n0\r\n\r\n", 400),
    ("method-propfind", build_request("PROPFIND", "/"), 501),
    ("method-lowercase", build_request("get", "/"), 400),
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    ("http-2.0", build_request("GET", "/", version="HTTP/2.0"), 505),
    ("bad-version", build_request("GET", "/", version="HTTP/x.y"), 400),
    ("absolute-form-target", build_request("GET", "http://example.com/"), 400),
    ("space-in-header-name", b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400),
    ("space-before-colon", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n", 400),
    ("nul-in-header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
    ("header-without-colon", b"GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", 400),
]


@pytest.mark.parametrize("raw,status", [pytest.param(*m[1:3], id=m[0], marks=m[3:]) for m in MALFORMED])
def test_malformed_request(server, raw, status):
    with Conn(server.s3_port) as c:
        c.send(raw)
        r = c.read_response()
        assert r.status == status, r
        assert_common_headers(r, closes=True)
        c.expect_eof()


def test_malformed_after_good_request_on_same_connection(server):
    """A good response is delivered intact even when a bad request follows it."""
    with Conn(server.s3_port) as c:
        c.send(build_request("GET", "/_test/bytes?n=5") + build_request("PUT", "/x", None,
                                                                        ["Content-Length: 1", "Content-Length: 2"]))
        r = c.read_response()
        assert r.status == 200 and r.body == b"xxxxx" and not r.closes
        r = c.read_response()
        assert r.status == 400 and r.closes
        c.expect_eof()


def test_unknown_method_501_fresh_server(start_server):
    srv = start_server()
    with Conn(srv.s3_port) as c:
        c.send(build_request("BREW", "/coffee"))
        r = c.read_response()
        assert r.status == 501 and r.closes, r
        c.expect_eof()


@pytest.mark.parametrize("where", ["same-connection", "next-connection"])
def test_unknown_method_501_after_a_request(start_server, where):
    srv = start_server()
    with Conn(srv.s3_port) as c:
        assert c.request("GET", "/_test/bytes?n=1").status == 200
        if where == "next-connection":
            c.close()
            # Once the server has released the slot, the next connection reuses it (and its parser).
            deadline = time.monotonic() + 3
            while srv.metric("mamute_http_open_connections") != 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            c = Conn(srv.s3_port)
        c.send(build_request("BREW", "/coffee"))
        r = c.read_response()
        c.close()
        assert r.status == 501, r


def test_header_block_just_under_limit_is_fine(server):
    # 15 KiB of headers is under the 16 KiB limit.
    r = one_request(server.s3_port, "GET", "/_test/bytes?n=1", headers=["X-Big: " + "a" * (15 * 1024)])
    assert r.status == 200 and r.body == b"x"


def test_uri_just_under_limit_is_fine(server):
    r = one_request(server.s3_port, "GET", "/_test/bytes?n=1&pad=" + "p" * 8000)
    assert r.status == 200 and r.body == b"x"


# ====================================================================== timeouts
# The shared server: header timeout 1 s, idle 1.5 s, body 1 s (100 ms ticks).
# Waits are bounded at ~4 s so that a broken timer fails fast.

def test_slow_header_408(server):
    with Conn(server.s3_port, timeout=4) as c:
        c.send(b"GET /_test/bytes?n=1 HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        r = c.read_response()
        elapsed = time.monotonic() - t0
        assert r.status == 408, r
        assert r.body == b"request header timeout\n"
        assert_common_headers(r, closes=True)
        assert 0.8 <= elapsed <= 3.5, elapsed
        c.expect_eof()


def test_slowloris_trickle_gets_408(server):
    """Progress does not extend the header deadline (1 s): a byte every 100 ms."""
    head = b"GET /_test/bytes?n=1 HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 100
    with Conn(server.s3_port, timeout=4) as c:
        t0 = time.monotonic()
        for b in head:
            if time.monotonic() - t0 > 3.5:
                break
            try:
                c.send(bytes([b]))
            except OSError:
                break
            if not c.nothing_within(0.1):
                break  # the server answered (or closed)
        c.sock.settimeout(max(0.1, 4 - (time.monotonic() - t0)))
        r = c.read_response()
        elapsed = time.monotonic() - t0
        assert r.status == 408, r
        assert elapsed <= 3.5, elapsed
        c.expect_eof()


def test_silent_connection_closed_without_response(server):
    with Conn(server.s3_port) as c:
        took = c.expect_eof(timeout=4)
        assert 0.8 <= took <= 3.5, took


def test_idle_keepalive_closed(server):
    with Conn(server.s3_port) as c:
        assert c.request("GET", "/_test/bytes?n=1").status == 200
        took = c.expect_eof(timeout=4.5)
        assert 1.3 <= took <= 4.0, took


def test_keepalive_survives_short_pauses(server):
    with Conn(server.s3_port) as c:
        for _ in range(3):
            assert c.request("GET", "/_test/bytes?n=1").status == 200
            time.sleep(0.8)  # idle timeout is 1.5 s: each request restarts it
        assert c.request("GET", "/_test/bytes?n=1").status == 200


def test_body_stall_408(server):
    with Conn(server.s3_port, timeout=4) as c:
        c.send(build_request("PUT", "/_test/echo", None, ["Content-Length: 100"]) + b"0123456789")
        t0 = time.monotonic()
        r = c.read_response()
        elapsed = time.monotonic() - t0
        assert r.status == 408, r
        assert r.body == b"request body timeout\n"
        assert_common_headers(r, closes=True)
        assert 0.8 <= elapsed <= 3.5, elapsed
        c.expect_eof()


def test_chunked_body_stall_408(server):
    with Conn(server.s3_port, timeout=4) as c:
        c.send(build_request("PUT", "/_test/echo", None, ["Transfer-Encoding: chunked"]) + b"5\r\nhel")
        r = c.read_response()
        assert r.status == 408, r
        assert r.closes
        c.expect_eof()


def test_slow_body_with_progress_is_not_cut(server):
    """Each body piece re-arms the body timer (1 s): 8 pieces 300 ms apart pass."""
    body = b"abcdefgh"
    with Conn(server.s3_port) as c:
        c.send(build_request("PUT", "/_test/echo", None, [f"Content-Length: {len(body)}"]))
        for b in body:
            time.sleep(0.3)
            c.send(bytes([b]))
        r = c.read_response()
        assert r.status == 200 and r.body == echo_body(body)


def test_slow_async_handler_is_not_cut(server):
    """No timer runs while a handler works: a 2.5 s sleep outlasts every timeout."""
    with Conn(server.s3_port) as c:
        r = c.request("GET", "/_test/sleep?ms=2500")
        assert r.status == 200 and r.body == b"slept\n"


def test_timeouts_in_metrics(start_server):
    srv = start_server()
    names = ["mamute_http_header_timeouts_total", "mamute_http_idle_timeouts_total",
             "mamute_http_body_timeouts_total", "mamute_http_parse_errors_total"]
    m0 = {k: srv.metric(k) for k in names}
    t408_0 = srv.metric("mamute_http_requests_total", status="408")
    with Conn(srv.s3_port, timeout=4) as slow_head, Conn(srv.s3_port, timeout=4) as idle, \
            Conn(srv.s3_port, timeout=4) as slow_body, Conn(srv.s3_port, timeout=4) as bad:
        slow_head.send(b"GET / HTTP/1.1\r\n")
        assert idle.request("GET", "/_test/bytes?n=1").status == 200
        slow_body.send(build_request("PUT", "/_test/echo", None, ["Content-Length: 10"]) + b"abc")
        bad.send(build_request("GET", "/", version="HTTP/2.0"))
        assert bad.read_response().status == 505
        assert slow_head.read_response().status == 408
        assert slow_body.read_response().status == 408
        idle.expect_eof(timeout=4)
        slow_head.expect_eof()
        slow_body.expect_eof()
    m1 = {k: srv.metric(k) for k in names}
    for k in names:
        assert m1[k] == m0[k] + 1, (k, m0, m1)
    assert srv.metric("mamute_http_requests_total", status="408") == t408_0 + 2
    # Everything was closed: no connection left open on the S3 port.
    deadline = time.monotonic() + 3
    while srv.metric("mamute_http_open_connections") != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.metric("mamute_http_open_connections") == 0


def test_parse_errors_in_metrics(start_server):
    srv = start_server()
    p0 = srv.metric("mamute_http_parse_errors_total")
    c400 = srv.metric("mamute_http_requests_total", route="unmatched", status="400")
    c505 = srv.metric("mamute_http_requests_total", route="unmatched", status="505")
    for raw in [build_request("GET", "/", version="HTTP/2.0"),
                build_request("PUT", "/", None, ["Content-Length: 1", "Content-Length: 2"])]:
        with Conn(srv.s3_port) as c:
            c.send(raw)
            c.read_response()
            c.expect_eof()
    assert srv.metric("mamute_http_parse_errors_total") == p0 + 2
    assert srv.metric("mamute_http_requests_total", route="unmatched", status="400") == c400 + 1
    assert srv.metric("mamute_http_requests_total", route="unmatched", status="505") == c505 + 1


# ====================================================================== connection limits

def test_max_connections_503(start_server):
    srv = start_server(max_connections=4, idle_timeout_ms=30000, header_timeout_ms=30000)
    rejected0 = srv.metric("mamute_http_connections_rejected_total")
    conns = [Conn(srv.s3_port) for _ in range(4)]
    try:
        for c in conns:
            assert c.request("GET", "/_test/bytes?n=1").status == 200
        with Conn(srv.s3_port) as extra:
            r = extra.read_response()
            assert r.status == 503, r
            assert r.closes
            assert r.body == b"too many connections\n"
            extra.expect_eof()
        assert srv.metric("mamute_http_connections_rejected_total") == rejected0 + 1
        # The accepted ones still work.
        for c in conns:
            assert c.request("GET", "/_test/bytes?n=2").body == b"xx"
        # Closing one frees a slot.
        conns.pop().close()
        deadline = time.monotonic() + 3
        while srv.metric("mamute_http_open_connections") > 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        with Conn(srv.s3_port) as again:
            assert again.request("GET", "/_test/bytes?n=3").body == b"xxx"
        # The management port has its own limit.
        assert one_request(srv.api_port, "GET", "/healthz").status == 200
    finally:
        for c in conns:
            c.close()


def test_max_connections_503_has_common_headers(start_server):
    srv = start_server(max_connections=1, idle_timeout_ms=30000, header_timeout_ms=30000)
    with Conn(srv.s3_port) as first:
        assert first.request("GET", "/_test/bytes?n=1").status == 200
        with Conn(srv.s3_port) as extra:
            r = extra.read_response()
            assert r.status == 503
            assert_common_headers(r, closes=True)


def test_1000_concurrent_connections(server):
    n = 1000
    sel = selectors.DefaultSelector()
    req = build_request("GET", "/_test/sleep?ms=300")
    want_body = b"slept\n"
    state = {}
    t0 = time.monotonic()
    try:
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", server.s3_port))
            state[s] = {"out": req, "in": b"", "done": False}
            sel.register(s, selectors.EVENT_WRITE)
        done = 0
        deadline = time.monotonic() + 30
        while done < n and time.monotonic() < deadline:
            for key, ev in sel.select(timeout=1):
                s = key.fileobj
                st = state[s]
                if ev & selectors.EVENT_WRITE:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    assert err == 0, f"connect failed: {err}"
                    sent = s.send(st["out"])
                    st["out"] = st["out"][sent:]
                    if not st["out"]:
                        sel.modify(s, selectors.EVENT_READ)
                elif ev & selectors.EVENT_READ:
                    data = s.recv(65536)
                    assert data, f"connection closed early after {st['in']!r}"
                    st["in"] += data
                    head, sep, body = st["in"].partition(b"\r\n\r\n")
                    if sep:
                        m = re.search(rb"\r\nContent-Length: (\d+)", head)
                        if m and len(body) >= int(m.group(1)):
                            assert head.startswith(b"HTTP/1.1 200 "), head
                            assert body == want_body
                            sel.unregister(s)
                            st["done"] = True
                            done += 1
        elapsed = time.monotonic() - t0
        assert done == n, f"only {done} of {n} answered"
        # 1000 x 300 ms served concurrently, not one after another.
        assert elapsed < 10, elapsed
    finally:
        for s in state:
            s.close()
        sel.close()


# ====================================================================== shutdown

def _connect_refused(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
    except ConnectionRefusedError:
        return True
    s.close()
    return False


def test_graceful_shutdown_finishes_in_flight(start_server):
    srv = start_server(shutdown_timeout_ms=10000)
    busy = Conn(srv.s3_port)
    idle = Conn(srv.s3_port)
    try:
        assert idle.request("GET", "/_test/bytes?n=1").status == 200
        busy.send(build_request("GET", "/_test/sleep?ms=1000"))
        time.sleep(0.3)  # the request is being served
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        # The idle keep-alive connection is closed at once.
        assert idle.expect_eof(timeout=3) < 2.0
        # New connections are refused from then on (on both ports).
        deadline = time.monotonic() + 2
        while not _connect_refused(srv.s3_port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _connect_refused(srv.s3_port), "S3 port still accepts connections after SIGTERM"
        # The in-flight request completes, told that the connection closes.
        r = busy.read_response()
        assert r.status == 200 and r.body == b"slept\n", r
        assert r.closes
        busy.expect_eof()
        rc = srv.proc.wait(timeout=10)
        assert rc == 0
        assert time.monotonic() - t0 < 5.0, "shutdown waited for the deadline instead of the last request"
        assert _connect_refused(srv.s3_port) and _connect_refused(srv.api_port)
        assert "stopped" in srv.stderr_path.read_text()
    finally:
        busy.close()
        idle.close()


def test_shutdown_deadline_cuts_long_requests(start_server):
    srv = start_server(shutdown_timeout_ms=500)
    with Conn(srv.s3_port) as busy:
        busy.send(build_request("GET", "/_test/sleep?ms=20000"))
        time.sleep(0.3)
        t0 = time.monotonic()
        assert srv.stop() == 0
        assert time.monotonic() - t0 < 4.0
        with pytest.raises((EOFError, ConnectionResetError)):
            busy.read_response()


def test_sigint_also_graceful(start_server):
    srv = start_server()
    assert one_request(srv.s3_port, "GET", "/_test/bytes?n=1").status == 200
    assert srv.stop(signal.SIGINT) == 0


# ====================================================================== access log

def test_access_log_lines(start_server):
    srv = start_server(access_log=True)
    sent = []
    with Conn(srv.s3_port) as c:
        req = build_request("GET", "/_test/bytes?n=5&X-Amz-Signature=secret&X-Amz-Credential=AKIDSECRETKEY")
        c.send(req)
        r = c.read_response()
        assert r.status == 200
        sent.append((r, "GET", "/_test/bytes", 200, len(req), len(r.raw_head) + 4 + len(r.body)))
        req = build_request("PUT", "/_test/echo?partNumber=1&uploadId=secret", b"payload")
        c.send(req)
        r = c.read_response()
        assert r.status == 200
        sent.append((r, "PUT", "/_test/echo", 200, len(req), len(r.raw_head) + 4 + len(r.body)))
        req = build_request("GET", "/bucket/key?X-Amz-Signature=secret")
        c.send(req)
        r = c.read_response()
        assert r.status == 403
        sent.append((r, "GET", "/bucket/key", 403, len(req), len(r.raw_head) + 4 + len(r.body)))
        req = build_request("GET", "/_test/sleep?ms=300")
        c.send(req)
        slept = c.read_response()
        assert slept.status == 200
        sent.append((slept, "GET", "/_test/sleep", 200, len(req), len(slept.raw_head) + 4 + len(slept.body)))
    r = one_request(srv.api_port, "GET", "/nope?token=secret")
    assert r.status == 404
    assert srv.stop() == 0
    out = srv.stdout_text()
    assert "secret" not in out
    assert "X-Amz-Signature" not in out and "AKIDSECRETKEY" not in out
    lines = out.splitlines()
    assert out.endswith("\n")
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    by_id = {}
    for rec in records:
        assert rec["request_id"] not in by_id, "request logged twice"
        by_id[rec["request_id"]] = rec
        for field in ["ts", "service", "shard", "request_id", "method", "path", "route", "status", "bytes_in",
                      "bytes_out", "latency_us"]:
            assert field in rec, (field, rec)
        assert isinstance(rec["latency_us"], int) and rec["latency_us"] >= 0
        assert abs(rec["ts"] - time.time()) < 600
    for r, method, path, status, bytes_in, bytes_out in sent:
        rec = by_id[r.header("x-amz-request-id")]
        assert rec["service"] == "s3"
        assert rec["method"] == method and rec["path"] == path and rec["status"] == status, rec
        assert rec["bytes_out"] == bytes_out, rec
        assert rec["bytes_in"] == bytes_in, rec
    assert by_id[slept.header("x-amz-request-id")]["latency_us"] >= 250000
    assert by_id[slept.header("x-amz-request-id")]["route"] == "test:sleep"
    mgmt = [x for x in records if x["service"] == "mgmt" and x["path"] == "/nope"]
    assert len(mgmt) == 1 and mgmt[0]["status"] == 404 and mgmt[0]["route"] == "unmatched"
    # Exactly one line per answered S3 request.
    assert len([x for x in records if x["service"] == "s3"]) == len(sent)


def test_access_log_to_a_pipe_nobody_reads(tmp_path):
    """stdout is a pipe whose reader never reads: the shards must keep serving (the log is
    written without blocking), drop whole records once their buffer is full, count them in
    /metrics and warn on stderr."""
    import fcntl
    from conftest import FAST_OPTIONS, MamuteServer
    rfd, wfd = os.pipe()
    srv = MamuteServer(tmp_path, {**FAST_OPTIONS, "data-cores": 1, "pin-threads": False, "access-log": True})
    try:
        fcntl.fcntl(rfd, 1031, 4096)  # F_SETPIPE_SZ: the smallest pipe, so it fills at once
        srv.stdout_fd = wfd
        srv.start()
        os.close(wfd)
        wfd = -1
        # ~1.2 KB per record (the logged path is cut at 1 KiB): 2,000 requests overflow the pipe
        # and the shard's 1 MiB of pending records.
        req = build_request("GET", "/bucket/" + "k" * 1000)
        with Conn(srv.s3_port) as c:
            for _ in range(20):
                c.send(req * 100)
                for _ in range(100):
                    assert c.read_response().status == 403
        # Still answering, on a new connection and on the management port.
        assert one_request(srv.s3_port, "GET", "/_test/bytes?n=3").status == 200
        dropped = srv.metric("mamute_access_log_dropped_total")
        assert dropped > 0
        assert "access log output is not keeping up" in srv.stderr_tail(200)
        # What did reach the pipe is whole JSON lines (the last one may still be in flight).
        os.set_blocking(rfd, False)
        data = os.read(rfd, 1 << 20)
        assert data.count(b"\n") > 0
        for line in data[:data.rindex(b"\n")].split(b"\n"):
            assert json.loads(line)["service"] in ("s3", "mgmt")
        assert srv.stop() == 0
    finally:
        if srv.proc is not None:
            srv.stop()
        os.close(rfd)
        if wfd >= 0:
            os.close(wfd)


def test_access_log_off(start_server):
    srv = start_server(access_log=False)
    assert one_request(srv.s3_port, "GET", "/_test/bytes?n=1").status == 200
    assert srv.stop() == 0
    assert srv.stdout_text() == ""
