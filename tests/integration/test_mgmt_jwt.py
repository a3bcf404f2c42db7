"""Bearer JWT authentication of the management API (docs/management-api.md, "Bearer tokens")
against the real binary: login, refresh rotation, logout, JWKS, expiry, key rotation.

    MAMUTE_BIN=/path/to/mamute /usr/bin/python3 -m pytest tests/integration/test_mgmt_jwt.py -q
"""
import base64
import hashlib
import hmac
import json
import time

import pytest

from test_mgmt import ADMIN_PASSWORD, API_KEY, BUCKETS, Server, assert_error

ADMIN = "admin@localhost"


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def segments(token):
    h, p, s = token.split(".")
    return json.loads(unb64u(h)), json.loads(unb64u(p)), unb64u(s)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def login(s, email=ADMIN, password=ADMIN_PASSWORD):
    st, data, hdrs = s.request("POST", "/auth/login", {"email": email, "password": password}, key=None)
    assert st == 200, data
    assert hdrs["cache-control"] == "no-store"
    s.secrets += [data["access_token"], data["refresh_token"]]
    return data


def as_user(s, method, path, token, body=None):
    return s.request(method, path, body, key=None, headers=bearer(token))


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("jwt"), {"MAMUTE_API_KEY": API_KEY, "MAMUTE_ADMIN_PASSWORD": ADMIN_PASSWORD}).start()
    s.secrets = [API_KEY, ADMIN_PASSWORD]
    yield s
    s.stop()
    logs = s.all_logs()
    leaked = [x for x in s.secrets if x in logs]
    assert not leaked, f"secrets in the server logs: {leaked}"


def test_login_then_the_access_token_works_on_bucket_routes(srv):
    t = login(srv)
    assert t["token_type"] == "Bearer" and t["expires_in"] == 900 and t["refresh_expires_in"] == 2592000
    assert t["refresh_token"].startswith("mrt_") and t["user_id"].startswith("usr_")
    header, claims, sig = segments(t["access_token"])
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": header["kid"]}
    assert claims["iss"] == "mamute" and claims["aud"] == "mamute-management-api" and claims["sub"] == t["user_id"]
    assert claims["exp"] - claims["iat"] == 900 and claims["nbf"] == claims["iat"] and len(claims["jti"]) == 32
    assert len(sig) == 64
    name = f"jwt-{int(time.time() * 1000) % 10**9}"
    st, b, _ = as_user(srv, "POST", BUCKETS, t["access_token"], {"name": name})
    assert st == 201, b
    # The bearer's project is the API key's project: same bucket both ways.
    assert srv.request("GET", f"{BUCKETS}/{b['id']}")[1] == b
    st, lst, _ = as_user(srv, "GET", BUCKETS + "?limit=1000", t["access_token"])
    assert st == 200 and b in lst["items"]
    st, c, _ = as_user(srv, "POST", f"{BUCKETS}/{b['id']}/credentials", t["access_token"])
    assert st == 201
    srv.secrets.append(c["secret_access_key"])
    # The scheme is case-insensitive (RFC 6750 §2.1 via RFC 7235 §2.1).
    st, _, _ = srv.request("GET", BUCKETS, key=None, headers={"Authorization": "bearer " + t["access_token"]})
    assert st == 200


@pytest.mark.parametrize("email,password", [(ADMIN, "wrong-password-123"), (ADMIN, ADMIN_PASSWORD + "x"),
                                            ("nobody@localhost", ADMIN_PASSWORD), ("ADMIN@LOCALHOST", "nope")])
def test_bad_login_is_401_and_all_alike(srv, email, password):
    st, data, _ = srv.request("POST", "/auth/login", {"email": email, "password": password}, key=None)
    assert_error(st, data, 401, "unauthorized")
    assert data["error"]["message"] == "invalid email or password"


def test_login_email_is_case_insensitive(srv):
    login(srv, email="Admin@LocalHost")


@pytest.mark.parametrize("body,status,code", [
    ({}, 422, "validation_failed"),
    ({"email": ADMIN}, 422, "validation_failed"),
    ({"email": ADMIN, "password": 5}, 422, "validation_failed"),
    ("nope", 400, "invalid_json"),
    ("", 400, "invalid_json"),
])
def test_bad_login_bodies(srv, body, status, code):
    st, data, _ = srv.request("POST", "/auth/login", body, key=None, headers={"Content-Type": "application/json"})
    assert_error(st, data, status, code)


def test_refresh_rotates_and_reuse_revokes_the_session(srv):
    t1 = login(srv)
    st, t2, _ = srv.request("POST", "/auth/refresh", {"refresh_token": t1["refresh_token"]}, key=None)
    assert st == 200, t2
    srv.secrets += [t2["access_token"], t2["refresh_token"]]
    assert t2["refresh_token"] != t1["refresh_token"] and t2["access_token"] != t1["access_token"]
    assert as_user(srv, "GET", BUCKETS, t2["access_token"])[0] == 200
    # The old refresh token stopped working...
    st, data, _ = srv.request("POST", "/auth/refresh", {"refresh_token": t1["refresh_token"]}, key=None)
    assert_error(st, data, 401, "unauthorized")
    # ...and its reuse revoked the successor too (RFC 9700 §4.14.2).
    st, data, _ = srv.request("POST", "/auth/refresh", {"refresh_token": t2["refresh_token"]}, key=None)
    assert_error(st, data, 401, "unauthorized")
    for bad in ["mrt_nope", t1["access_token"], "x" * 5000]:
        st, data, _ = srv.request("POST", "/auth/refresh", {"refresh_token": bad}, key=None)
        assert_error(st, data, 401, "unauthorized")


def test_logout_revokes_the_refresh_token(srv):
    t = login(srv)
    # Logout needs authentication.
    st, data, _ = srv.request("POST", "/auth/logout", {"refresh_token": t["refresh_token"]}, key=None)
    assert_error(st, data, 401, "unauthorized")
    st, data, _ = as_user(srv, "POST", "/auth/logout", t["access_token"], {"refresh_token": t["refresh_token"]})
    assert st == 204 and data is None
    st, data, _ = srv.request("POST", "/auth/refresh", {"refresh_token": t["refresh_token"]}, key=None)
    assert_error(st, data, 401, "unauthorized")
    # Idempotent, and an unknown token is not an error (RFC 7009 §2.2).
    assert as_user(srv, "POST", "/auth/logout", t["access_token"], {"refresh_token": t["refresh_token"]})[0] == 204
    assert srv.request("POST", "/auth/logout", {"refresh_token": "mrt_unknown"})[0] == 204


def test_jwks_serves_the_key_and_python_cryptography_verifies_a_token(srv):
    ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    st, jwks, hdrs = srv.request("GET", "/.well-known/jwks.json", key=None)
    assert st == 200 and jwks["keys"]
    t = login(srv)
    header, _, sig = segments(t["access_token"])
    keys = {k["kid"]: k for k in jwks["keys"]}
    assert header["kid"] in keys
    jwk = keys[header["kid"]]
    assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}  # never "d"
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    # kid is the RFC 7638 thumbprint.
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": jwk["x"]}, separators=(",", ":"), sort_keys=True)
    assert jwk["kid"] == b64u(hashlib.sha256(canonical.encode()).digest())
    pub = ed25519.Ed25519PublicKey.from_public_bytes(unb64u(jwk["x"]))
    signing_input = t["access_token"].rsplit(".", 1)[0].encode()
    pub.verify(sig, signing_input)  # raises InvalidSignature on failure
    with pytest.raises(Exception):
        pub.verify(sig, signing_input + b"x")


def forge(token, header=None, claims=None, sig=None):
    h, c, s = segments(token)
    h = header if header is not None else h
    c = dict(c, **(claims or {}))
    head = b64u(json.dumps(h, separators=(",", ":")).encode()) + "." + b64u(json.dumps(c, separators=(",", ":")).encode())
    return head, head + "." + b64u(s if sig is None else sig)


def test_forged_tokens_are_401(srv):
    t = login(srv)["access_token"]
    h, _, _ = segments(t)
    jwks = srv.request("GET", "/.well-known/jwks.json", key=None)[1]
    x = next(k["x"] for k in jwks["keys"] if k["kid"] == h["kid"])
    forged = []
    head, _ = forge(t, header={"alg": "none", "typ": "JWT"})
    forged += [head + ".", head]
    for secret in (unb64u(x), x.encode()):
        head, _ = forge(t, header={"alg": "HS256", "typ": "JWT", "kid": h["kid"]})
        forged.append(head + "." + b64u(hmac.new(secret, head.encode(), hashlib.sha256).digest()))
    forged.append(forge(t, header={"alg": "RS256", "kid": h["kid"]}, sig=b"\x01" * 256)[1])
    forged.append(forge(t, claims={"sub": "usr_0000000000000000"})[1])  # signature no longer matches
    forged.append(forge(t, header=dict(h, kid="nope"))[1])
    forged += ["", "abc", "a.b.c", t + "x", t[:-2], "x" * 5000]
    for f in forged:
        st, data, hdrs = srv.request("GET", BUCKETS, key=None, headers=bearer(f))
        assert_error(st, data, 401, "unauthorized")
        assert hdrs["www-authenticate"].startswith("Bearer")
    for authz in ["Basic YWRtaW46cGFzcw==", "Bearer", "Token " + t]:
        st, data, hdrs = srv.request("GET", BUCKETS, key=None, headers={"Authorization": authz})
        assert_error(st, data, 401, "unauthorized")
    st, data, _ = srv.request("GET", BUCKETS, key=None)
    assert_error(st, data, 401, "unauthorized")
    assert srv.request("GET", BUCKETS, key=None, headers=bearer(t))[0] == 200  # control


def test_both_credentials_is_400(srv):
    t = login(srv)["access_token"]
    st, data, _ = srv.request("GET", BUCKETS, headers=bearer(t))
    assert_error(st, data, 400, "invalid_request")


def test_public_auth_routes_need_no_credential_and_wrong_methods_are_405(srv):
    assert srv.request("GET", "/.well-known/jwks.json", key=None)[0] == 200
    for method, path, allow in [("GET", "/auth/login", "POST"), ("GET", "/auth/refresh", "POST"),
                                ("DELETE", "/auth/logout", "POST"), ("POST", "/.well-known/jwks.json", "GET, HEAD"),
                                ("GET", "/security/jwks/rotate", "POST")]:
        st, data, hdrs = srv.request(method, path, key=None)
        assert_error(st, data, 405, "method_not_allowed")
        assert hdrs["allow"] == allow
    st, data, _ = srv.request("POST", "/security/jwks/rotate", key=None)
    assert_error(st, data, 401, "unauthorized")


def test_expired_access_token_is_401(tmp_path):
    s = Server(tmp_path / "exp", {"MAMUTE_ADMIN_PASSWORD": ADMIN_PASSWORD, "MAMUTE_JWT_ACCESS_TTL_S": "5"}).start()
    s.secrets = [ADMIN_PASSWORD]
    try:
        t = login(s)
        assert t["expires_in"] == 5
        exp = segments(t["access_token"])[1]["exp"]
        # The control, while the token is surely valid (iat is rounded down; a loaded host is slow).
        if time.time() < exp - 1.5:
            assert as_user(s, "GET", BUCKETS, t["access_token"])[0] == 200
        time.sleep(max(0.0, exp - time.time()) + 0.5)
        st, data, hdrs = as_user(s, "GET", BUCKETS, t["access_token"])
        assert_error(st, data, 401, "unauthorized")
        assert 'error="invalid_token"' in hdrs["www-authenticate"]
        # The refresh token still works and yields a fresh access token.
        st, t2, _ = s.request("POST", "/auth/refresh", {"refresh_token": t["refresh_token"]}, key=None)
        assert st == 200
        s.secrets += [t2["access_token"], t2["refresh_token"]]
        assert as_user(s, "GET", BUCKETS, t2["access_token"])[0] == 200
    finally:
        s.stop()
    logs = s.all_logs()
    assert not [x for x in s.secrets if x in logs]


def test_key_rotation_keeps_old_tokens_valid_across_restarts(tmp_path):
    s = Server(tmp_path / "rot", {"MAMUTE_ADMIN_PASSWORD": ADMIN_PASSWORD}).start()
    s.secrets = [ADMIN_PASSWORD]
    try:
        old = login(s)["access_token"]
        old_kid = segments(old)[0]["kid"]
        st, rot, _ = as_user(s, "POST", "/security/jwks/rotate", old)
        assert st == 200, rot
        assert rot["active_kid"] != old_kid
        assert sorted(k["kid"] for k in rot["keys"]) == sorted([old_kid, rot["active_kid"]])
        assert s.request("GET", "/.well-known/jwks.json", key=None)[1]["keys"] == rot["keys"]
        new = login(s)["access_token"]
        assert segments(new)[0]["kid"] == rot["active_kid"]
        assert as_user(s, "GET", BUCKETS, old)[0] == 200
        assert as_user(s, "GET", BUCKETS, new)[0] == 200
    finally:
        s.stop()
    s.start()  # the keys are sealed in the store: both tokens survive a restart
    try:
        assert as_user(s, "GET", BUCKETS, old)[0] == 200
        assert as_user(s, "GET", BUCKETS, new)[0] == 200
        assert len(s.request("GET", "/.well-known/jwks.json", key=None)[1]["keys"]) == 2
    finally:
        s.stop()
    logs = s.all_logs()
    assert not [x for x in s.secrets if x in logs]
