"""Keeps docs/operations.md true: every option `mamute --help` lists is documented
there with its environment variable and the same default."""
import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("MAMUTE_BIN", str(ROOT / "build" / "src" / "mamute"))


def help_options():
    out = subprocess.run([BIN, "--help"], check=True, capture_output=True, text=True).stdout
    opts = re.findall(r"--([a-z0-9-]+)=\S+.*\n\s+\[(MAMUTE_[A-Z0-9_]+)\] Default: (\S*)", out)
    assert len(opts) >= 10, out
    return opts


def test_every_option_is_documented_with_its_default():
    doc = (ROOT / "docs" / "operations.md").read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `--([a-z0-9-]+)=[^|]*\|.*$", doc, re.M)}
    for flag, env, default in help_options():
        assert flag in rows, f"--{flag} missing from docs/operations.md"
        assert f"`{env}`" in rows[flag], f"{env} not documented for --{flag}"
        assert f"`{default}`" in rows[flag], f"default {default!r} of --{flag} differs in docs/operations.md"


def test_bad_option_values_fail_cleanly():
    for args in (["--data-cores=abc"], ["--s3-listen=nohostport"], ["--log-level=loud"], ["--nope=1"],
                 ["--recv-buffers=1000"]):
        r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert "mamute:" in r.stderr


def test_env_variable_is_read():
    env = dict(os.environ, MAMUTE_LOG_LEVEL="loud")
    r = subprocess.run([BIN, "--version"], capture_output=True, text=True, env=env, timeout=10)
    assert r.returncode == 2 and "MAMUTE_LOG_LEVEL" in r.stderr
