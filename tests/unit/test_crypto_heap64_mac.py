"""The per-message GBCS MAC path fits a 64 KB heap: KDF from a cached Z (the ECS42 numbers,
gbcs.md §3.5) and a 12-byte GMAC over a 126-byte AAD, with a fresh GCM object per message."""
import _t
from firmware.alerts import Reject
from firmware.crypto import gcm, gmac, kdf

MP_HEAPSIZE = "64K"


def test_kdf_gmac_64k():
    z = _t.unhex("ed342441df01551a6beaff3b54adc981f4c6a7e71dff4c3e1cc80b3c9f4e5ac0")
    k = kdf.gbcs_kdf(z, _t.unhex("90b3d51f30010000"), 1, 1000, _t.unhex("00db1234567890a0"))
    assert k == _t.unhex("ec1d51bd8f8bf0cdd2314cf396cc12c0")
    iv = _t.unhex("90b3d51f3001000000000000")
    aad = bytes(126)
    tag = gcm.gmac(k, iv, aad)
    assert len(tag) == 12
    assert gmac.gbcs_mac(z, _t.unhex("90b3d51f30010000"), 1, _t.unhex("00000000000003e8"),
                         _t.unhex("00db1234567890a0"), aad) == tag  # the device's one-call form
    gcm.GCM(k).verify_gmac(iv, aad, tag)
    _t.raises(Reject, gcm.GCM(k).verify_gmac, iv, aad, bytes(12))
    c, t = gcm.encrypt(k, iv, b"reading", b"\x31", 12)
    assert gcm.decrypt(k, iv, c, b"\x31", t) == b"reading"
