"""Authorization matrix (issue 8): every identity × every operation, both planes.

Each cell sends one request and asserts the exact status and error code, and that
the response leaks nothing (no object data, no key names the caller may not list,
no secret). The last test greps the server's logs (access log on stdout, debug log
on stderr — the server runs at --log-level=debug to widen what could leak).

To extend:
  * a new S3 operation: add an `S3Op` to S3_OPS with what the bucket owner gets
    (`owner`); every other identity is derived from its auth outcome (`s3_expect`).
    An operation the server does not implement yet is `owner=(501, "NotImplemented")`:
    501 must come only after authentication and authorization, so every denied
    identity still gets its 403.
  * a new management route: add a `MgmtRoute` to MGMT_ROUTES.
  * a new identity: add it to IDENTITIES with its outcome on each plane.
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import time
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import botocore.auth
import botocore.credentials
import pytest
from botocore.awsrequest import AWSRequest

from conftest import FAST_OPTIONS, MamuteServer

BUCKETS = "/storage/object-storage/buckets"
JWT_TTL_S = 3
ADMIN_EMAIL = "admin@localhost"
BOOT_API_KEY = "mk_authz_boot_" + "Q" * 30          # set by MAMUTE_API_KEY, rotated away in setup
ADMIN_PASSWORD = "authz-admin-pass-7d1e93"
BUCKET_A, BUCKET_B = "authz-alpha", "authz-beta"
OBJECT_KEY = "secret-obj.txt"                       # in A; requested by path in the matrix
OBJECT_DATA = b"OBJECT-DATA-7f3a9c-never-leak-" * 4
HIDDEN_A = "hidden-listing-a-5e81.bin"              # in A; only ever named by A's own listings
HIDDEN_B = "hidden-listing-b-c402.bin"              # in B; never visible to anyone in this test


# ====================================================================== clients

def raw(port, method, target, headers=None, body=None):
    """One request on a fresh connection: (status, headers dict, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def mgmt(srv, method, path, key, body=None):
    h = {"X-API-Key": key}
    data = None
    if body is not None:
        data = json.dumps(body)
        h["Content-Type"] = "application/json"
    st, _, raw_body = raw(srv.api_port, method, path, h, data)
    return st, (json.loads(raw_body) if raw_body else None)


def _json_get(srv, path):
    st, _, body = raw(srv.api_port, "GET", path)
    return st, json.loads(body)


def _login(w):
    st, _, body = raw(w.srv.api_port, "POST", "/auth/login", {"Content-Type": "application/json"},
                      json.dumps({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
    assert st == 200, body
    j = json.loads(body)
    w.secrets += [j["access_token"], j["refresh_token"]]
    return j


def _sign_at(signer, request, when):
    """botocore's add_auth, at a chosen time instead of utcnow() (expiry and clock-skew rows)."""
    request.context["timestamp"] = when.strftime(botocore.auth.SIGV4_TIMESTAMP)
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    sts = signer.string_to_sign(request, canonical)
    signer._inject_signature_to_request(request, signer.signature(sts, request))


class _PresignAt(botocore.auth.S3SigV4QueryAuth):
    def __init__(self, creds, expires, when):
        super().__init__(creds, "s3", "us-east-1", expires=expires)
        self._when = when

    def add_auth(self, request):
        _sign_at(self, request, self._when)


class _SignAt(botocore.auth.S3SigV4Auth):
    def __init__(self, creds, region, when):
        super().__init__(creds, "s3", region)
        self._when = when

    def add_auth(self, request):
        _sign_at(self, request, self._when)


def sign_header(port, ak, sk, method, target, headers, body, region="us-east-1", ago=0):
    req = AWSRequest(method=method, url=f"http://127.0.0.1:{port}{target}", headers=dict(headers), data=body)
    when = datetime.datetime.utcnow() - datetime.timedelta(seconds=ago)
    _SignAt(botocore.credentials.Credentials(ak, sk), region, when).add_auth(req)
    return {k: v for k, v in req.headers.items()}, target


def presign(port, ak, sk, method, target, headers, body, expires=300, ago=0):
    when = datetime.datetime.utcnow() - datetime.timedelta(seconds=ago)
    # A presigned URL signs no payload (UNSIGNED-PAYLOAD): the body is not the signer's business.
    req = AWSRequest(method=method, url=f"http://127.0.0.1:{port}{target}", headers=dict(headers))
    _PresignAt(botocore.credentials.Credentials(ak, sk), expires, when).add_auth(req)
    u = urllib.parse.urlsplit(req.url)
    return {k: v for k, v in req.headers.items()}, u.path + "?" + u.query


def _replace_param(target, name, fn):
    path, _, query = target.partition("?")
    parts = []
    for kv in query.split("&"):
        k, _, v = kv.partition("=")
        parts.append(f"{k}={fn(v)}" if k == name else kv)
    return path + "?" + "&".join(parts)


# ====================================================================== the world

@dataclass
class World:
    srv: MamuteServer
    api_key: str = ""                 # the current project API key (after rotation)
    old_api_keys: list = field(default_factory=list)
    bucket_a: dict = None
    cred_a: dict = None               # the owner's working credential
    cred_b: dict = None               # bucket B's credential
    cred_deactivated: dict = None     # bucket A, deactivated
    cred_deleted: dict = None         # bucket A, deleted
    cred_regen_old: dict = None       # bucket A, the secret before a regenerate
    cred_other_project: dict = None   # a project-scoped key of another project (issue 9)
    secrets: list = field(default_factory=list)   # every secret issued: must never leak
    jwt: str = ""                     # a valid access token (refreshed as it ages)
    jwt_at: float = 0.0
    refresh_token: str = ""
    expired_jwt: str = ""             # signed by the server, expired
    jwk: dict = None                  # the server's public signing key (JWKS)

    def fresh_jwt(self):
        if time.monotonic() - self.jwt_at > JWT_TTL_S / 3:
            st, _, body = raw(self.srv.api_port, "POST", "/auth/refresh", {"Content-Type": "application/json"},
                              json.dumps({"refresh_token": self.refresh_token}))
            assert st == 200, body
            j = json.loads(body)
            self.jwt, self.jwt_at, self.refresh_token = j["access_token"], time.monotonic(), j["refresh_token"]
            self.secrets += [self.jwt, self.refresh_token]
        return self.jwt


def _s3_put(w, cred, bucket, key, data):
    h, t = sign_header(w.srv.s3_port, cred["access_key_id"], cred["secret_access_key"], "PUT", f"/{bucket}/{key}",
                       {}, data)
    st, _, body = raw(w.srv.s3_port, "PUT", t, h, data)
    assert st == 200, body


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    os.environ["MAMUTE_API_KEY"] = BOOT_API_KEY
    os.environ["MAMUTE_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    try:
        # Access tokens live 3 s: the expired-JWT row needs one the server signed; the valid-JWT
        # row refreshes its token as it ages (World.jwt).
        srv = MamuteServer(tmp_path_factory.mktemp("authz"), {
            **FAST_OPTIONS, "data-cores": 1, "pin-threads": False, "log-level": "debug",
            "jwt-access-ttl-s": JWT_TTL_S}).start()
    finally:
        del os.environ["MAMUTE_API_KEY"]
        del os.environ["MAMUTE_ADMIN_PASSWORD"]
    w = World(srv)
    w.secrets += [BOOT_API_KEY, ADMIN_PASSWORD]
    # Rotate the API key twice: both earlier keys must be dead.
    key = BOOT_API_KEY
    for _ in range(2):
        st, j = mgmt(srv, "POST", "/security/apikey", key)
        assert st == 200, j
        w.old_api_keys.append(key)
        key = j["api_key"]
        w.secrets.append(key)
    w.api_key = key

    def bucket(name):
        st, b = mgmt(srv, "POST", BUCKETS, key, {"name": name, "storage_class": "Standard"})
        assert st == 201, b
        return b

    def cred(b):
        st, c = mgmt(srv, "POST", f"{BUCKETS}/{b['id']}/credentials", key)
        assert st == 201, c
        w.secrets.append(c["secret_access_key"])
        return c

    w.bucket_a = bucket(BUCKET_A)
    bucket_b = bucket(BUCKET_B)
    w.cred_a, w.cred_b = cred(w.bucket_a), cred(bucket_b)
    w.cred_deactivated, w.cred_deleted, w.cred_regen_old = cred(w.bucket_a), cred(w.bucket_a), cred(w.bucket_a)
    base = f"{BUCKETS}/{w.bucket_a['id']}/credentials/"
    assert mgmt(srv, "POST", base + w.cred_deactivated["access_key_id"] + "/deactivate", key)[0] == 200
    assert mgmt(srv, "DELETE", base + w.cred_deleted["access_key_id"], key)[0] == 204
    st, regen = mgmt(srv, "POST", base + w.cred_regen_old["access_key_id"] + "/regenerate", key)
    assert st == 200 and regen["secret_access_key"] != w.cred_regen_old["secret_access_key"]
    w.secrets.append(regen["secret_access_key"])

    # A second project, made by the admin, with a project-scoped S3 key: it must reach nothing of
    # this project's buckets.
    st, _, body = raw(srv.api_port, "POST", "/auth/login", {"Content-Type": "application/json"},
                      json.dumps({"email": "admin@localhost", "password": ADMIN_PASSWORD}))
    assert st == 200, body
    token = json.loads(body)
    w.secrets += [token["access_token"], token["refresh_token"]]
    st, _, body = raw(srv.api_port, "POST", "/projects",
                      {"Content-Type": "application/json", "Authorization": "Bearer " + token["access_token"]},
                      json.dumps({"name": "authz-other-project"}))
    assert st == 201, body
    other_key = json.loads(body)["api_key"]
    w.secrets.append(other_key)
    st, w.cred_other_project = mgmt(srv, "POST", "/storage/object-storage/credentials", other_key)
    assert st == 201, w.cred_other_project
    w.secrets.append(w.cred_other_project["secret_access_key"])

    _s3_put(w, w.cred_a, BUCKET_A, OBJECT_KEY, OBJECT_DATA)
    _s3_put(w, w.cred_a, BUCKET_A, HIDDEN_A, OBJECT_DATA)
    _s3_put(w, w.cred_b, BUCKET_B, HIDDEN_B, OBJECT_DATA)
    # Bearer JWTs: one session kept fresh, and one token left to expire.
    w.expired_jwt = _login(w)["access_token"]
    expired_at = time.time() + JWT_TTL_S + 1.1
    assert raw(srv.api_port, "GET", BUCKETS, {"Authorization": "Bearer " + w.expired_jwt})[0] == 200  # until it expires
    session = _login(w)
    w.jwt, w.jwt_at, w.refresh_token = session["access_token"], time.monotonic(), session["refresh_token"]
    _, jwks = _json_get(srv, "/.well-known/jwks.json")
    w.jwk = jwks["keys"][0]
    time.sleep(max(0.0, expired_at - time.time()))
    yield w
    assert srv.stop() == 0, srv.stderr_tail()


# ====================================================================== identities

# What an identity amounts to on each plane.
OWNER, ANON, BAD_SIG, UNKNOWN_KEY, FOREIGN, EXPIRED, UNSUPPORTED, AMBIGUOUS, SKEWED, BAD_SCOPE = (
    "owner", "anonymous", "bad_signature", "unknown_key", "foreign_bucket", "expired", "unsupported_scheme",
    "ambiguous", "skewed", "bad_scope")
# A scheme that is not AWS's at all (Bearer ...): AWS answers 400 InvalidArgument
# "Unsupported Authorization Type"; SigV2/SigV4A (UNSUPPORTED) are 501 here.
UNKNOWN_SCHEME = "unknown_scheme"
FOREIGN_PROJECT = "foreign_project"  # a project-scoped key of another project
MGMT_OK, MGMT_401 = "mgmt_ok", "mgmt_401"


@dataclass
class Identity:
    name: str
    s3: str             # outcome on the S3 plane (above)
    mgmt: str           # MGMT_OK or MGMT_401
    # (world, port, method, target, headers, body) -> (headers, target)
    apply: object


def _creds(pick, secret=None, then=None, **kw):
    def apply(w, port, method, target, headers, body):
        c = pick(w)
        h, t = sign_header(port, c["access_key_id"], secret(w) if secret else c["secret_access_key"], method, target,
                           headers, body, **kw)
        return then(h, t) if then else (h, t)
    return apply


def _add_presign_marker(h, t):
    return h, t + ("&" if "?" in t else "?") + "X-Amz-Algorithm=AWS4-HMAC-SHA256"


def _presigned(tamper=None, **kw):
    def apply(w, port, method, target, headers, body):
        h, t = presign(port, w.cred_a["access_key_id"], w.cred_a["secret_access_key"], method, target, headers,
                       body, **kw)
        return h, (tamper(t) if tamper else t)
    return apply


def _header(name, value):
    def apply(w, port, method, target, headers, body):
        return {**headers, name: value(w)}, target
    return apply


def _bearer(token):
    return _header("Authorization", lambda w: "Bearer " + token(w))


def _b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _claims(w):
    """The claims of the current valid token (so only the part under test differs)."""
    return json.loads(_unb64u(w.fresh_jwt().split(".")[1]))


def _jwt(header, claims, sign):
    signing_input = _b64u(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        _b64u(json.dumps(claims, separators=(",", ":")).encode())
    return signing_input + "." + _b64u(sign(signing_input.encode()))


def _jwt_tampered_payload(w):
    """A valid token whose payload names a later expiry: the signature no longer matches."""
    h, _, sig = w.fresh_jwt().split(".")
    claims = _claims(w)
    claims["exp"] += 3600
    return h + "." + _b64u(json.dumps(claims, separators=(",", ":")).encode()) + "." + sig


def _jwt_alg_none(w):
    return _jwt({"alg": "none", "kid": w.jwk["kid"], "typ": "JWT"}, _claims(w), lambda m: b"")


def _jwt_hs256_with_public_key(w):
    """RFC 8725 §2.1: HMAC keyed with the server's public key (raw bytes), as a confused verifier would."""
    pub = _unb64u(w.jwk["x"])
    return _jwt({"alg": "HS256", "kid": w.jwk["kid"], "typ": "JWT"}, _claims(w),
                lambda m: hmac.new(pub, m, hashlib.sha256).digest())


def _jwt_foreign_key(w, own_kid):
    """A well-formed EdDSA token signed by a key the server never had: under that key's own kid
    (unknown to the server), or under the server's kid (the signature does not verify)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    thumb = _b64u(hashlib.sha256(json.dumps({"crv": "Ed25519", "kty": "OKP", "x": _b64u(pub)},
                                            separators=(",", ":")).encode()).digest())
    kid = thumb if own_kid else w.jwk["kid"]
    return _jwt({"alg": "EdDSA", "kid": kid, "typ": "JWT"}, _claims(w), key.sign)


def _flip(sig):
    return sig[:-1] + ("0" if sig[-1] != "0" else "1")


IDENTITIES = [
    Identity("owner", OWNER, MGMT_401, _creds(lambda w: w.cred_a)),
    Identity("anonymous", ANON, MGMT_401, lambda w, p, m, t, h, b: (h, t)),
    Identity("wrong_secret", BAD_SIG, MGMT_401, _creds(lambda w: w.cred_a, lambda w: "W" * 40)),
    Identity("other_bucket_key", FOREIGN, MGMT_401, _creds(lambda w: w.cred_b)),
    Identity("other_project_key", FOREIGN_PROJECT, MGMT_401, _creds(lambda w: w.cred_other_project)),
    Identity("deactivated_key", UNKNOWN_KEY, MGMT_401, _creds(lambda w: w.cred_deactivated)),
    Identity("deleted_key", UNKNOWN_KEY, MGMT_401, _creds(lambda w: w.cred_deleted)),
    Identity("regenerated_old_secret", BAD_SIG, MGMT_401, _creds(lambda w: w.cred_regen_old)),
    Identity("presign_expired", EXPIRED, MGMT_401, _presigned(expires=1, ago=5)),
    Identity("presign_tampered_signature", BAD_SIG, MGMT_401,
             _presigned(lambda t: _replace_param(t, "X-Amz-Signature", _flip))),
    Identity("presign_tampered_expiry", BAD_SIG, MGMT_401,
             _presigned(lambda t: _replace_param(t, "X-Amz-Expires", lambda v: str(int(v) + 3600)))),
    Identity("signed_an_hour_ago", SKEWED, MGMT_401, _creds(lambda w: w.cred_a, ago=3600)),
    Identity("signed_for_another_region", BAD_SCOPE, MGMT_401, _creds(lambda w: w.cred_a, region="eu-west-1")),
    Identity("header_and_query_signature", AMBIGUOUS, MGMT_401, _creds(lambda w: w.cred_a, then=_add_presign_marker)),
    Identity("sigv2_header", UNSUPPORTED, MGMT_401,
             _header("Authorization", lambda w: f"AWS {w.cred_a['access_key_id']}:bm90IGEgc2lnbmF0dXJl")),
    # Management identities: on the S3 plane an API key is no SigV4, i.e. anonymous.
    Identity("api_key", ANON, MGMT_OK, _header("X-API-Key", lambda w: w.api_key)),
    Identity("api_key_rotated_once", ANON, MGMT_401, _header("X-API-Key", lambda w: w.old_api_keys[-1])),
    Identity("api_key_bootstrap", ANON, MGMT_401, _header("X-API-Key", lambda w: w.old_api_keys[0])),
    Identity("api_key_empty", ANON, MGMT_401, _header("X-API-Key", lambda w: "")),
    Identity("api_key_garbage", ANON, MGMT_401, _header("X-API-Key", lambda w: "mk_" + "g" * 43)),
    Identity("api_key_prefix", ANON, MGMT_401, _header("X-API-Key", lambda w: w.api_key[:-1])),
    Identity("s3_secret_as_api_key", ANON, MGMT_401, _header("X-API-Key", lambda w: w.cred_a["secret_access_key"])),
    Identity("access_key_id_as_api_key", ANON, MGMT_401, _header("X-API-Key", lambda w: w.cred_a["access_key_id"])),
    # Bearer: an unknown Authorization scheme on the S3 plane is 400 InvalidArgument, as AWS.
    Identity("bearer_garbage", UNKNOWN_SCHEME, MGMT_401, _header("Authorization", lambda w: "Bearer garbage.garbage.x")),
    Identity("bearer_api_key", UNKNOWN_SCHEME, MGMT_401, _header("Authorization", lambda w: "Bearer " + w.api_key)),
    # Bearer JWTs (docs/management-api.md, "Bearer tokens"). On the S3 plane any Bearer is 400 InvalidArgument.
    Identity("jwt_valid", UNKNOWN_SCHEME, MGMT_OK, _bearer(lambda w: w.fresh_jwt())),
    Identity("jwt_expired", UNKNOWN_SCHEME, MGMT_401, _bearer(lambda w: w.expired_jwt)),
    Identity("jwt_tampered_payload", UNKNOWN_SCHEME, MGMT_401, _bearer(_jwt_tampered_payload)),
    Identity("jwt_tampered_signature", UNKNOWN_SCHEME, MGMT_401,
             _bearer(lambda w: w.fresh_jwt()[:-2] + ("AA" if not w.fresh_jwt().endswith("AA") else "BA"))),
    Identity("jwt_alg_none", UNKNOWN_SCHEME, MGMT_401, _bearer(_jwt_alg_none)),
    Identity("jwt_hs256_public_key", UNKNOWN_SCHEME, MGMT_401, _bearer(_jwt_hs256_with_public_key)),
    Identity("jwt_unknown_kid", UNKNOWN_SCHEME, MGMT_401, _bearer(lambda w: _jwt_foreign_key(w, own_kid=True))),
    Identity("jwt_foreign_key_known_kid", UNKNOWN_SCHEME, MGMT_401, _bearer(lambda w: _jwt_foreign_key(w, own_kid=False))),
    Identity("jwt_refresh_token_as_access", UNKNOWN_SCHEME, MGMT_401, _bearer(lambda w: w.refresh_token)),
]
# The owner's SigV4 credentials mean nothing to the management API either.
IDENTITY_BY_NAME = {i.name: i for i in IDENTITIES}


# ====================================================================== S3 operations

@dataclass
class S3Op:
    name: str
    method: str
    target: str                     # {a} = bucket A; path and query
    owner: tuple                    # (status, S3 error code or None) for the bucket's own key
    body: bytes = None
    headers: dict = field(default_factory=dict)
    owner_target: str = None        # what the owner's control row hits instead (destructive ops)
    owner_may_see: tuple = ()       # what the owner's response may contain of the protected strings
    owner_body: bytes = None        # the owner's body instead of `body` (destructive ops)
    content_md5: bool = False       # send Content-MD5 of the body (DeleteObjects requires it)


NO_UPLOAD = "0" * 32  # a well-formed upload id no upload has
COMPLETE_BODY = (b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"" + b"0" * 32 +
                 b"\"</ETag></Part></CompleteMultipartUpload>")
TAGGING_BODY = b"<Tagging><TagSet><Tag><Key>intruder</Key><Value>was-here</Value></Tag></TagSet></Tagging>"


def delete_body(*keys):
    objs = "".join(f"<Object><Key>{k}</Key></Object>" for k in keys)
    return f"<Delete><Quiet>false</Quiet>{objs}</Delete>".encode()


S3_OPS = [
    S3Op("ListBuckets", "GET", "/", (200, None)),
    S3Op("HeadBucket", "HEAD", "/{a}", (200, None)),
    S3Op("GetBucketLocation", "GET", "/{a}?location", (200, None)),
    S3Op("GetBucketVersioning", "GET", "/{a}?versioning", (200, None)),
    S3Op("ListObjects", "GET", "/{a}", (200, None), owner_may_see=(OBJECT_KEY, HIDDEN_A)),
    S3Op("ListObjectsV2", "GET", "/{a}?list-type=2", (200, None), owner_may_see=(OBJECT_KEY, HIDDEN_A)),
    S3Op("ListObjectVersions", "GET", "/{a}?versions", (200, None), owner_may_see=(OBJECT_KEY, HIDDEN_A)),
    S3Op("CreateBucket", "PUT", "/{a}", (409, "BucketAlreadyOwnedByYou")),
    S3Op("CreateBucketNew", "PUT", "/authz-brand-new", (403, "AccessDenied")),
    S3Op("DeleteBucket", "DELETE", "/{a}", (403, "AccessDenied")),
    S3Op("PutObject", "PUT", "/{a}/" + OBJECT_KEY, (200, None), body=b"overwritten by an intruder",
         owner_target="/{a}/put-by-owner.txt"),
    S3Op("GetObject", "GET", "/{a}/" + OBJECT_KEY, (200, None), owner_may_see=(OBJECT_DATA,)),
    S3Op("HeadObject", "HEAD", "/{a}/" + OBJECT_KEY, (200, None)),
    S3Op("DeleteObject", "DELETE", "/{a}/" + OBJECT_KEY, (204, None), owner_target="/{a}/delete-by-owner.txt"),
    S3Op("GetBucketCors", "GET", "/{a}?cors", (404, "NoSuchCORSConfiguration")),
    S3Op("DeleteBucketCors", "DELETE", "/{a}?cors", (204, None)),
    # Multipart: the owner's rows that need an upload name one that does not exist, so they pass
    # authentication and authorization and then get the lookup's NoSuchUpload.
    S3Op("CreateMultipartUpload", "POST", "/{a}/" + OBJECT_KEY + "?uploads", (200, None),
         owner_target="/{a}/mpu-by-owner.bin?uploads"),
    S3Op("UploadPart", "PUT", "/{a}/" + OBJECT_KEY + "?partNumber=1&uploadId=" + NO_UPLOAD,
         (404, "NoSuchUpload"), body=b"part data of an intruder"),
    S3Op("CompleteMultipartUpload", "POST", "/{a}/" + OBJECT_KEY + "?uploadId=" + NO_UPLOAD,
         (404, "NoSuchUpload"), body=COMPLETE_BODY),
    S3Op("AbortMultipartUpload", "DELETE", "/{a}/" + OBJECT_KEY + "?uploadId=" + NO_UPLOAD,
         (404, "NoSuchUpload")),
    S3Op("ListParts", "GET", "/{a}/" + OBJECT_KEY + "?uploadId=" + NO_UPLOAD, (404, "NoSuchUpload")),
    S3Op("ListMultipartUploads", "GET", "/{a}?uploads", (200, None)),
    # Copy: into A from A (the owner's copy lands on its own key), and from A into B, which only
    # a key that may read A and write B could do — nobody here.
    S3Op("CopyObject", "PUT", "/{a}/copied-by-intruder.txt", (200, None),
         headers={"x-amz-copy-source": "/{a}/" + OBJECT_KEY}, owner_target="/{a}/copied-by-owner.txt"),
    S3Op("CopyObjectIntoOtherBucket", "PUT", "/{b}/copied-across.txt", (403, "AccessDenied"),
         headers={"x-amz-copy-source": "/{a}/" + OBJECT_KEY}),
    # Tagging and attributes.
    S3Op("GetObjectTagging", "GET", "/{a}/" + OBJECT_KEY + "?tagging", (200, None)),
    S3Op("PutObjectTagging", "PUT", "/{a}/" + OBJECT_KEY + "?tagging", (200, None), body=TAGGING_BODY,
         owner_body=TAGGING_BODY.replace(b"intruder", b"owner"), content_md5=True),
    S3Op("DeleteObjectTagging", "DELETE", "/{a}/" + OBJECT_KEY + "?tagging", (204, None)),
    S3Op("GetObjectAttributes", "GET", "/{a}/" + OBJECT_KEY + "?attributes", (200, None),
         headers={"x-amz-object-attributes": "ETag,ObjectSize,StorageClass"}),
    S3Op("DeleteObjects", "POST", "/{a}?delete", (200, None), body=delete_body(OBJECT_KEY, HIDDEN_A),
         owner_body=delete_body("delete-many-by-owner.txt"), content_md5=True),
    # Not implemented (501 after auth).
    S3Op("GetBucketPolicy", "GET", "/{a}?policy", (501, "NotImplemented")),
    S3Op("GetBucketLifecycle", "GET", "/{a}?lifecycle", (501, "NotImplemented")),
    S3Op("GetObjectAcl", "GET", "/{a}/" + OBJECT_KEY + "?acl", (501, "NotImplemented")),
    S3Op("PutBucketWebsite", "PUT", "/{a}?website", (501, "NotImplemented"), body=b"<WebsiteConfiguration/>"),
    S3Op("SelectObjectContent", "POST", "/{a}/" + OBJECT_KEY + "?select&select-type=2", (501, "NotImplemented"),
         body=b"<SelectObjectContentRequest/>"),
]


def s3_expect(identity, op):
    """(status, code) for a cell. HEAD responses carry no body, so no code."""
    if identity.s3 == OWNER:
        st, code = op.owner
    elif identity.s3 == FOREIGN:
        # Authorization happens before anything else: a foreign bucket is AccessDenied, whatever the op.
        # ListBuckets is the exception: it succeeds and lists only the key's own bucket.
        st, code = (200, None) if op.name == "ListBuckets" else (403, "AccessDenied")
    elif identity.s3 == FOREIGN_PROJECT:
        # Another project's key: AccessDenied on every bucket of this project. It lists (only) its
        # own project's buckets, may create a bucket of a free name, and a taken name is
        # BucketAlreadyExists (the name is global, the bucket stays this project's).
        st, code = {"ListBuckets": (200, None), "CreateBucket": (409, "BucketAlreadyExists"),
                    "CreateBucketNew": (200, None)}.get(op.name, (403, "AccessDenied"))
    else:
        st, code = {
            ANON: (403, "AccessDenied"),
            BAD_SIG: (403, "SignatureDoesNotMatch"),
            UNKNOWN_KEY: (403, "InvalidAccessKeyId"),
            EXPIRED: (403, "AccessDenied"),
            UNSUPPORTED: (501, "NotImplemented"),
            UNKNOWN_SCHEME: (400, "InvalidArgument"),
            AMBIGUOUS: (400, "InvalidArgument"),
            SKEWED: (403, "RequestTimeTooSkewed"),
            BAD_SCOPE: (400, "AuthorizationHeaderMalformed"),
        }[identity.s3]
    return st, (None if op.method == "HEAD" else code)


def protected_strings(w):
    """Strings no response or log line may contain (unless the owner's own op returns them)."""
    return [OBJECT_DATA, HIDDEN_A.encode(), HIDDEN_B.encode()] + [s.encode() for s in w.secrets]


def assert_no_leak(w, body, headers, allowed=()):
    blob = body + "\n".join(f"{k}: {v}" for k, v in headers.items()).encode()
    for s in protected_strings(w):
        if s in allowed or (isinstance(s, bytes) and s.decode(errors="replace") in allowed):
            continue
        assert s not in blob, f"response leaks {s[:40]!r}: {blob[:600]!r}"


@pytest.mark.parametrize("op", S3_OPS, ids=lambda o: o.name)
@pytest.mark.parametrize("ident", IDENTITIES, ids=lambda i: i.name)
def test_s3_cell(world, ident, op):
    w = world
    target = (op.owner_target if ident.s3 == OWNER and op.owner_target else op.target).format(a=BUCKET_A, b=BUCKET_B)
    req_body = op.owner_body if ident.s3 == OWNER and op.owner_body is not None else op.body
    req_headers = {k: v.format(a=BUCKET_A, b=BUCKET_B) for k, v in op.headers.items()}
    if op.content_md5:
        req_headers["Content-MD5"] = base64.b64encode(hashlib.md5(req_body).digest()).decode()
    headers, target = ident.apply(w, w.srv.s3_port, op.method, target, req_headers, req_body)
    st, rh, body = raw(w.srv.s3_port, op.method, target, headers, req_body)
    want_st, want_code = s3_expect(ident, op)
    assert st == want_st, (ident.name, op.name, st, body[:500])
    if want_code is not None:
        assert rh.get("content-type") == "application/xml", rh
        root = ET.fromstring(body)
        assert root.tag == "Error" and root.findtext("Code") == want_code, body[:500]
        assert root.findtext("RequestId") == rh["x-amz-request-id"]
    elif op.method == "HEAD" or st == 204:
        assert body == b""
    if ident.s3 == OWNER:
        assert_no_leak(w, body, rh, allowed=tuple(x.decode() if isinstance(x, bytes) else x for x in op.owner_may_see))
        if op.name == "GetObject":
            assert body == OBJECT_DATA
    else:
        assert_no_leak(w, body, rh)
        if ident.s3 == FOREIGN and op.name == "ListBuckets":
            assert BUCKET_B.encode() in body and BUCKET_A.encode() not in body, body
        if ident.s3 == FOREIGN_PROJECT and op.name == "ListBuckets":
            assert BUCKET_A.encode() not in body and BUCKET_B.encode() not in body, body
        # A denied request never shows object metadata either.
        assert not any(k.startswith("x-amz-meta-") for k in rh) and "etag" not in rh, rh


# ====================================================================== management routes

@dataclass
class MgmtRoute:
    name: str
    method: str
    path: str                   # {bid} = bucket A's id, {ak} = the owner's access key id
    owner: tuple = None         # (status, JSON code or None) for a valid key; None: not run (mutates)
    body: dict = None
    public: bool = False        # answered the same to every identity
    owner_may_see: tuple = ()   # protected strings a valid key's response may contain
    user: tuple = ()            # for the admin user's JWT when it differs from the API key's
                                # outcome; None: not run (mutates; covered elsewhere)


MGMT_ROUTES = [
    MgmtRoute("healthz", "GET", "/healthz", public=True),
    MgmtRoute("metrics", "GET", "/metrics", public=True),
    MgmtRoute("rotate_api_key", "POST", "/security/apikey"),
    MgmtRoute("create_bucket", "POST", BUCKETS, body={"name": "authz-intruder"}),
    MgmtRoute("list_buckets", "GET", BUCKETS, owner=(200, None)),
    MgmtRoute("head_buckets", "HEAD", BUCKETS, owner=(200, None)),
    MgmtRoute("get_bucket", "GET", BUCKETS + "/{bid}", owner=(200, None)),
    MgmtRoute("delete_bucket_force", "DELETE", BUCKETS + "/{bid}?force=true"),
    MgmtRoute("create_credential", "POST", BUCKETS + "/{bid}/credentials"),
    MgmtRoute("list_credentials", "GET", BUCKETS + "/{bid}/credentials", owner=(200, None)),
    MgmtRoute("deactivate_credential", "POST", BUCKETS + "/{bid}/credentials/{ak}/deactivate"),
    MgmtRoute("activate_credential", "POST", BUCKETS + "/{bid}/credentials/{ak}/activate", owner=(200, None)),
    MgmtRoute("regenerate_credential", "POST", BUCKETS + "/{bid}/credentials/{ak}/regenerate"),
    MgmtRoute("delete_credential", "DELETE", BUCKETS + "/{bid}/credentials/{ak}"),
    MgmtRoute("list_files", "GET", BUCKETS + "/{bid}/files", owner=(200, None), owner_may_see=(HIDDEN_A,)),
    MgmtRoute("get_bucket_cors", "GET", BUCKETS + "/{bid}/cors", owner=(404, "not_found")),
    MgmtRoute("put_bucket_cors", "PUT", BUCKETS + "/{bid}/cors",
              body={"rules": [{"allowed_origins": ["*"], "allowed_methods": ["GET"]}]}),
    MgmtRoute("delete_bucket_cors", "DELETE", BUCKETS + "/{bid}/cors"),
    MgmtRoute("create_project", "POST", "/projects", owner=(403, "forbidden"), body={"name": "authz-by-key"},
              user=None),  # the admin user creates projects: test_projects.py
    MgmtRoute("list_projects", "GET", "/projects", owner=(200, None)),
    MgmtRoute("create_project_credential", "POST", "/storage/object-storage/credentials"),
    MgmtRoute("list_project_credentials", "GET", "/storage/object-storage/credentials", owner=(200, None)),
    MgmtRoute("deactivate_project_credential", "POST", "/storage/object-storage/credentials/{ak}/deactivate"),
    MgmtRoute("activate_project_credential", "POST", "/storage/object-storage/credentials/{ak}/activate",
              owner=(200, None)),
    MgmtRoute("regenerate_project_credential", "POST", "/storage/object-storage/credentials/{ak}/regenerate"),
    MgmtRoute("delete_project_credential", "DELETE", "/storage/object-storage/credentials/{ak}"),
    # Unknown and wrong-method routes are answered before authentication (they reveal only what
    # docs/management-api.md publishes); documented-but-unbuilt routes are 501 before
    # authentication too (see test_http.py test_mgmt_seed_surface_501_json).
    MgmtRoute("unknown_route", "GET", "/no/such/route", public=True),
    MgmtRoute("wrong_method", "PUT", BUCKETS, public=True),
    MgmtRoute("unbuilt_dns", "GET", "/dns/zones", public=True),
]
PUBLIC_ANSWER = {"healthz": (200, None), "metrics": (200, None), "unknown_route": (404, "not_found"),
                 "wrong_method": (405, "method_not_allowed"), "unbuilt_dns": (501, "not_implemented")}


def mgmt_expect(identity, route):
    if route.public:
        return PUBLIC_ANSWER[route.name]
    if identity.mgmt == MGMT_OK:
        if identity.name == "jwt_valid" and route.user != ():
            return route.user
        return route.owner
    return 401, "unauthorized"


@pytest.mark.parametrize("route", MGMT_ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize("ident", IDENTITIES, ids=lambda i: i.name)
def test_mgmt_cell(world, ident, route):
    w = world
    want = mgmt_expect(ident, route)
    if want is None:
        pytest.skip("mutating route: the valid key's success is covered by test_mgmt.py")
    path = route.path.format(bid=w.bucket_a["id"], ak=w.cred_a["access_key_id"])
    body = json.dumps(route.body).encode() if route.body is not None else None
    base = {"Content-Type": "application/json"} if body is not None else {}
    # SigV4 identities sign for the management host too: a valid S3 signature is no management identity.
    headers, path = ident.apply(w, w.srv.api_port, route.method, path, base, body)
    st, rh, raw_body = raw(w.srv.api_port, route.method, path, headers, body)
    want_st, want_code = want
    assert st == want_st, (ident.name, route.name, st, raw_body[:300])
    if want_code is not None and route.method != "HEAD":
        assert rh.get("content-type", "").startswith("application/json"), rh
        err = json.loads(raw_body)["error"]
        assert err["code"] == want_code and err["request_id"] == rh["x-amz-request-id"], err
    if route.method == "HEAD":
        assert raw_body == b""
    assert_no_leak(w, raw_body, rh, allowed=route.owner_may_see if ident.mgmt == MGMT_OK else ())


def test_denied_requests_changed_nothing(world):
    """After the matrix: A's object, credential and bucket are intact, the API key was not rotated,
    no intruder bucket or object exists (every mutating cell above was denied)."""
    w = world
    st, j = mgmt(w.srv, "GET", BUCKETS, w.api_key)
    assert st == 200
    assert sorted(b["name"] for b in j["items"]) == [BUCKET_A, BUCKET_B]
    st, j = mgmt(w.srv, "GET", f"{BUCKETS}/{w.bucket_a['id']}/credentials", w.api_key)
    creds = {c["access_key_id"]: c["status"] for c in j["items"]}
    assert creds[w.cred_a["access_key_id"]] == "active"
    h, t = sign_header(w.srv.s3_port, w.cred_a["access_key_id"], w.cred_a["secret_access_key"], "GET",
                       f"/{BUCKET_A}/{OBJECT_KEY}", {}, None)
    st, _, body = raw(w.srv.s3_port, "GET", t, h)
    assert st == 200 and body == OBJECT_DATA
    st, j = mgmt(w.srv, "GET", f"{BUCKETS}/{w.bucket_a['id']}/files", w.api_key)
    assert sorted(i["key"] for i in j["items"]) == sorted(["put-by-owner.txt", "copied-by-owner.txt", OBJECT_KEY,
                                                           HIDDEN_A])
    # Nobody but the owner tagged A's object, and B got no copy of it.
    h, t = sign_header(w.srv.s3_port, w.cred_a["access_key_id"], w.cred_a["secret_access_key"], "GET",
                       f"/{BUCKET_A}/{OBJECT_KEY}?tagging", {}, None)
    st, _, body = raw(w.srv.s3_port, "GET", t, h)
    assert st == 200 and b"intruder" not in body, body
    h, t = sign_header(w.srv.s3_port, w.cred_b["access_key_id"], w.cred_b["secret_access_key"], "HEAD",
                       f"/{BUCKET_B}/copied-across.txt", {}, None)
    assert raw(w.srv.s3_port, "HEAD", t, h)[0] == 404


def _encodings(s):
    import base64
    b = s if isinstance(s, bytes) else s.encode()
    return {b, b.hex().encode(), b.hex().upper().encode(), base64.b64encode(b), base64.urlsafe_b64encode(b),
            base64.b64encode(b).rstrip(b"="), base64.urlsafe_b64encode(b).rstrip(b"=")}


def test_logs_leak_nothing(world):
    """Runs last: the access log and the debug log of every request above carry no secret (in any
    encoding), no object data and no key name that only a listing could reveal."""
    w = world
    logs = w.srv.stdout_path.read_bytes() + w.srv.stderr_path.read_bytes()
    assert b"SignatureDoesNotMatch" in logs or b"403" in logs  # the logs did record the matrix
    for s in w.secrets:
        for form in _encodings(s):
            assert form not in logs, f"a secret ({s[:6]}...) appears in the logs as {form[:12]!r}..."
    assert OBJECT_DATA not in logs
    # The hidden keys were named only by their own PUT (its access-log line) and by the owner's
    # listings: no other log line may name them.
    for hidden, bucket in ((HIDDEN_A, BUCKET_A), (HIDDEN_B, BUCKET_B)):
        lines = [line for line in logs.splitlines() if hidden.encode() in line]
        assert len(lines) == 1, lines
        rec = json.loads(lines[0])
        assert rec["method"] == "PUT" and rec["path"] == f"/{bucket}/{hidden}" and rec["status"] == 200, rec
    # The query string is never logged (presigned URLs carry signatures).
    assert b"X-Amz-Signature" not in logs and b"X-Amz-Credential" not in logs
