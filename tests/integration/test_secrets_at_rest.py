"""Secrets at rest (issue 8): issue every kind of secret the server hands out, use
them, stop the server, then grep every file of the data directory (RocksDB SSTs,
WAL, MANIFEST, OPTIONS, LOG, object files) and the server's logs for each one —
in clear, hex, base64 and base64url, and for the random bytes behind the encoded
secrets too. None may appear.

What is stored instead (docs/management-api.md, "Secrets"): an API key's SHA-256,
a password's PBKDF2 hash, an S3 secret sealed with AES-256-GCM under the node
master key.

The master key is the key-encryption key of those sealed S3 secrets. It is not a
secret the server issues: it must be somewhere for the server to open what it
sealed. Two runs cover it:
  * MAMUTE_MASTER_KEY in the environment: no master.key file is created, and every
    file of the data dir is grepped — the master key included (in hex and raw).
  * master.key in the data dir (the default): that one file is excluded from the
    grep, after checking it is the key file SecretBox documents (32 bytes, mode
    0600); every other file is grepped for the master key too.
"""
import base64
import os
import stat

import pytest

from conftest import FAST_OPTIONS, MamuteServer
from test_authz_matrix import BUCKETS, mgmt, raw, sign_header

BOOT_API_KEY = "mk_atrest_" + "Zq9" * 12
ADMIN_PASSWORD = "at-rest-admin-password-41c7e"
MASTER_KEY_HEX = "5e" * 8 + "a1b2c3d4e5f60718" * 3  # 64 hex characters


def _b64decode_any(s):
    s = s + "=" * (-len(s) % 4)
    try:
        return base64.urlsafe_b64decode(s) if ("-" in s or "_" in s) else base64.b64decode(s)
    except ValueError:
        return None


def forms(secret):
    """Every spelling of a secret to look for: clear, hex (both cases), base64 and base64url
    (padded or not) — of the string and, for an encoded secret, of the random bytes behind it."""
    if isinstance(secret, str):
        raws = [secret.encode()]
        body = secret[3:] if secret.startswith("mk_") else secret
        decoded = _b64decode_any(body)
        if decoded and len(decoded) >= 16:
            raws.append(decoded)
    else:
        raws = [secret]
    out = set()
    for b in raws:
        for enc in (b, b.hex().encode(), b.hex().upper().encode(), base64.b64encode(b),
                    base64.urlsafe_b64encode(b)):
            out.add(enc)
            out.add(enc.rstrip(b"="))
    # Short encodings of short raw values could match by chance; every form here is ≥ 16 bytes.
    return {f for f in out if len(f) >= 16}


def all_files(root):
    for dirpath, _, names in os.walk(root):
        for n in names:
            yield os.path.join(dirpath, n)


def run_workload(srv):
    """Issues and uses every kind of secret; returns the list of them."""
    secrets = [BOOT_API_KEY, ADMIN_PASSWORD]
    key = BOOT_API_KEY
    for _ in range(2):  # rotation: each new key is a secret, the old one must not linger either
        st, j = mgmt(srv, "POST", "/security/apikey", key)
        assert st == 200, j
        key = j["api_key"]
        secrets.append(key)
    st, b = mgmt(srv, "POST", BUCKETS, key, {"name": "at-rest-bucket"})
    assert st == 201, b
    creds = []
    for _ in range(2):
        st, c = mgmt(srv, "POST", f"{BUCKETS}/{b['id']}/credentials", key)
        assert st == 201, c
        creds.append(c)
        secrets.append(c["secret_access_key"])
    ak = creds[0]["access_key_id"]
    st, r = mgmt(srv, "POST", f"{BUCKETS}/{b['id']}/credentials/{ak}/regenerate", key)
    assert st == 200, r
    creds[0] = {**creds[0], "secret_access_key": r["secret_access_key"]}
    secrets.append(r["secret_access_key"])
    # Use them: S3 writes, reads and listings signed with each live secret, a management listing.
    for i, c in enumerate(creds):
        body = f"object {i} payload".encode() * (2000 if i else 1)  # one inline, one in a data file
        for method, target, data, want in (("PUT", f"/at-rest-bucket/obj-{i}", body, 200),
                                           ("GET", f"/at-rest-bucket/obj-{i}", None, 200),
                                           ("GET", "/at-rest-bucket?list-type=2", None, 200)):
            h, t = sign_header(srv.s3_port, c["access_key_id"], c["secret_access_key"], method, target, {}, data)
            st, _, got = raw(srv.s3_port, method, target, h, data)
            assert st == want, got
    st, j = mgmt(srv, "GET", f"{BUCKETS}/{b['id']}/files", key)
    assert st == 200 and len(j["items"]) == 2
    # A wrong password/key attempt must not store or log what was tried either.
    assert mgmt(srv, "GET", BUCKETS, BOOT_API_KEY)[0] == 401
    return secrets


def start(tmp_path, name, env):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return MamuteServer(tmp_path / name, {**FAST_OPTIONS, "data-cores": 1, "pin-threads": False,
                                              "log-level": "debug"}).start()
    finally:
        for k, v in saved.items():
            if v is None:
                del os.environ[k]
            else:
                os.environ[k] = v


def grep_for(paths, secrets):
    found = []
    patterns = [(s, f) for s in secrets for f in forms(s)]
    for p in paths:
        with open(p, "rb") as fh:
            data = fh.read()
        for s, f in patterns:
            if f in data:
                found.append(f"{p}: {s[:8] if isinstance(s, str) else s[:4].hex()}... as {f[:16]!r}")
    return found


@pytest.mark.parametrize("master", ["env", "file"])
def test_no_secret_at_rest_or_in_logs(tmp_path, master):
    (tmp_path / master).mkdir()
    env = {"MAMUTE_API_KEY": BOOT_API_KEY, "MAMUTE_ADMIN_PASSWORD": ADMIN_PASSWORD}
    if master == "env":
        env["MAMUTE_MASTER_KEY"] = MASTER_KEY_HEX
    srv = start(tmp_path, master, env)
    try:
        secrets = run_workload(srv)
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
    # Grep twice: after the first stop (the WAL as written) and after a second start over the same
    # data and a clean stop (the WAL replayed into SSTs, maybe compacted).
    for run in (1, 2):
        if run == 2:
            srv2 = start(tmp_path, master, env)
            assert mgmt(srv2, "GET", BUCKETS, secrets[3])[0] == 200  # the last rotated key still works
            assert srv2.stop() == 0, srv2.stderr_tail()
        data_dir = srv.data_dir
        files = sorted(all_files(data_dir))
        names = {os.path.relpath(p, data_dir) for p in files}
        # Run 1 has the WAL (NNNNNN.log), run 2 the SSTs it was flushed into; both a MANIFEST.
        assert any(n.endswith(".log" if run == 1 else ".sst") for n in names), names
        assert any("MANIFEST" in n for n in names), names
        key_file = data_dir / "master.key"
        if master == "env":
            assert not key_file.exists(), "MAMUTE_MASTER_KEY given, yet a master.key was written"
            master_key = bytes.fromhex(MASTER_KEY_HEX)
        else:
            st = key_file.stat()
            assert stat.S_ISREG(st.st_mode) and st.st_size == 32 and stat.S_IMODE(st.st_mode) == 0o600, \
                oct(st.st_mode)
            master_key = key_file.read_bytes()
            files = [p for p in files if p != str(key_file)]
        logs = [str(p) for p in sorted(srv.workdir.glob("std*.log"))]
        print(f"run {run}: grepping {sorted(names)} and {len(logs)} logs for {len(secrets) + 1} secrets")
        assert len(secrets) == 7  # 3 API keys (bootstrap, 2 rotations), the password, 3 S3 secrets
        leaks = grep_for(files + logs, secrets + [master_key])
        assert not leaks, f"run {run}: secrets found in clear:\n" + "\n".join(leaks)
    # The grep does find a secret where there is one: a self-check against a vacuous pass.
    probe = tmp_path / "probe.bin"
    probe.write_bytes(b"xx" + base64.b64encode(_b64decode_any(secrets[3][3:]) or b"") + b"xx")
    assert grep_for([str(probe)], [secrets[3]])
    # The bootstrap prints a generated key or password only; these came from the environment.
    stderr = b"".join(open(p, "rb").read() for p in logs)
    assert b"shown once" not in stderr
