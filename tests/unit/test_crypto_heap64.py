"""The device code paths fit a 64 KB heap: one ECDSA verify (generic key, and a VerifyKey whose
comb table lives in a file), one ECDH, one sign, with the G table read from its file on demand
(as on a board without PSRAM when the table is not frozen into flash). The per-message MAC path
(KDF + GMAC) is in test_crypto_heap64_mac.py, a separate process: both import from source here,
which costs compiler heap a board running precompiled or frozen modules does not pay."""
import hashlib
import _t
from firmware.crypto import p256
# what a device runs frozen, imported up front here so nothing compiles later in a fragmented heap
from firmware.crypto import sign256, ecdh256, keyfile, combbuild  # noqa: F401

MP_HEAPSIZE = "64K"

_D = _t.unhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8b622b120f6721")
_H = hashlib.sha256(b"sample").digest()


def test_sign_then_verify_64k():
    q = p256.public_key(_D)
    sig = p256.sign(_D, _H)
    assert len(sig) == 64
    assert p256.verify(q, _H, sig)
    assert not p256.verify(q, _H, sig[:63] + bytes((sig[63] ^ 1,)))


def test_verify_key_file_table_64k():
    import os
    import sys
    import time

    q = p256.public_key(_D)
    sig = p256.sign(_D, _H)
    # a fresh path every run, so the table is really built (row by row) inside the 64 KB heap
    path = "/tmp/smlab_%s_heap64_%d.tab" % (sys.implementation.name, int(time.time() * 1000) % 1000000007)
    vk = p256.VerifyKey(q, path=path)  # default width (w=7, a 151 KB file)
    try:
        assert vk.mode == "file"
        assert vk.verify(_H, sig)
        assert not vk.verify(_H, sig[32:] + sig[:32])
    finally:
        vk.close()
        os.remove(path)
        os.remove(path + ".key")


def test_ecdh_64k():
    a = _D
    b = hashlib.sha256(b"peer").digest()
    z = p256.ecdh(a, p256.public_key(b))
    assert z == p256.ecdh(b, p256.public_key(a))
    assert len(z) == 32
