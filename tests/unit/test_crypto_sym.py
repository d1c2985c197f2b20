"""AES block shim, AES-GCM / GMAC (NIST SP 800-38D / McGrew-Viega test cases), the GBCS KDF and
GMAC vectors (shared/reference/gbcs.md §3.5-3.6), HMAC-SHA256 (RFC 4231) and ct.equal."""
import _t
from firmware.alerts import Reject, INTEGRITY_FAILED
from firmware.crypto import aes, gcm, gmac, kdf, ct
from firmware.crypto.hmac import hmac_sha256

U = _t.unhex


def test_aes_fips197():
    a = aes.AES(U("000102030405060708090a0b0c0d0e0f"))
    assert a.encrypt_block(U("00112233445566778899aabbccddeeff")) == U("69c4e0d86a7b0430d8cdb78070b4c55a")
    assert a.encrypt_ecb(U("00112233445566778899aabbccddeeff") * 2) == U("69c4e0d86a7b0430d8cdb78070b4c55a") * 2


def test_aes_bad_lengths():
    _t.raises(Reject, aes.AES, bytes(15))
    _t.raises(Reject, aes.AES(bytes(16)).encrypt_block, bytes(15))


# NIST GCM test cases 1-4 (128-bit key) from the GCM specification (McGrew & Viega), used in SP 800-38D validation
_K3 = U("feffe9928665731c6d6a8f9467308308")
_IV3 = U("cafebabefacedbaddecaf888")
_P3 = U("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255")
_C3 = U("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
        "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985")
_A4 = U("feedfacedeadbeeffeedfacedeadbeefabaddad2")


def test_gcm_nist_tc1_tc2():
    k = bytes(16)
    iv = bytes(12)
    assert gcm.encrypt(k, iv, b"") == (b"", U("58e2fccefa7e3061367f1d57a4e7455a"))
    assert gcm.gmac(k, iv, b"", 16) == U("58e2fccefa7e3061367f1d57a4e7455a")
    c, t = gcm.encrypt(k, iv, bytes(16))
    assert c == U("0388dace60b6a392f328c2b971b2fe78")
    assert t == U("ab6e47d42cec13bdf53a67b21257bddf")
    assert gcm.decrypt(k, iv, c, b"", t) == bytes(16)


def test_gcm_nist_tc3():
    c, t = gcm.encrypt(_K3, _IV3, _P3)
    assert c == _C3
    assert t == U("4d5c2af327cd64a62cf35abd2ba6fab4")
    assert gcm.decrypt(_K3, _IV3, c, b"", t) == _P3


def test_gcm_nist_tc4_aad_partial_block():
    c, t = gcm.encrypt(_K3, _IV3, _P3[:60], _A4)
    assert c == _C3[:60]
    assert t == U("5bc94fbc3221a5db94fae95ae7121a47")
    assert gcm.decrypt(_K3, _IV3, c, _A4, t) == _P3[:60]
    assert gcm.decrypt(_K3, _IV3, c, _A4, t[:12]) == _P3[:60]  # truncated tag


def test_gcm_bad_tag_rejected():
    c, t = gcm.encrypt(_K3, _IV3, _P3[:60], _A4)
    for bad in (bytes((t[0] ^ 1,)) + t[1:], t[:15] + bytes((t[15] ^ 0x80,))):
        e = _t.raises(Reject, gcm.decrypt, _K3, _IV3, c, _A4, bad)
        assert e.reason == "tag" and e.code == INTEGRITY_FAILED
    e = _t.raises(Reject, gcm.decrypt, _K3, _IV3, c[:-1] + bytes((c[-1] ^ 1,)), _A4, t)
    assert e.reason == "tag"
    e = _t.raises(Reject, gcm.decrypt, _K3, _IV3, c, _A4 + b"x", t)
    assert e.reason == "tag"
    _t.raises(Reject, gcm.decrypt, _K3, _IV3, c, _A4, t[:3])  # tag too short
    _t.raises(Reject, gcm.encrypt, _K3, _IV3[:11], b"x")  # IV not 96 bits


def test_gcm_class_reuse_matches_functions():
    g = gcm.GCM(_K3)
    for n in (0, 1, 15, 16, 17, 33):
        c, t = g.encrypt(_IV3, _P3[:n], _A4[:n % 21], 12)
        assert (c, t) == gcm.encrypt(_K3, _IV3, _P3[:n], _A4[:n % 21], 12)
        assert g.decrypt(_IV3, c, _A4[:n % 21], t) == _P3[:n]
    g.verify_gmac(_IV3, _A4, g.gmac(_IV3, _A4, 12))
    _t.raises(Reject, g.verify_gmac, _IV3, _A4, bytes(12))


# GMAC tags from OpenSSL (cryptography's AESGCM, empty plaintext) for key 00..0f, IV 64..6f and
# AAD byte i = (7i + 3) & 255 of every length below: partial, whole and multi-block AADs
_GMAC_OPENSSL = ((1, "30fa9dc755171a8655acd99854a21933"), (15, "8dc1c1ed94b3444fb18d81b37e2dde3c"),
                 (16, "3b098947fd95616d5c7d9f8a3ef1229d"), (17, "7f37eef66ebd9aebb5ec3976cfb3fafc"),
                 (32, "ed3625f94d9fcfbe9da168785c64ec81"), (33, "b459df3381e98f605bb96d99abc623eb"),
                 (126, "e06185a8064f3f280130de4a20b70bab"), (255, "236f739bf12ef6d64741e89a94f2b1f5"))


def test_lean_gmac_module():
    k = bytes(range(16))
    iv = bytes(range(100, 112))
    for n, tag in _GMAC_OPENSSL:
        aad = bytes((7 * i + 3) & 255 for i in range(n))
        assert gmac.gmac(k, iv, aad, 16) == U(tag)
        assert gmac.gmac(k, iv, memoryview(bytearray(aad)), 5) == U(tag)[:5]
    assert gmac.gmac(bytes(16), bytes(12), b"", 16) == U("58e2fccefa7e3061367f1d57a4e7455a")  # NIST TC1
    assert gmac.gmac(_K3, _IV3, _A4, 16, _C3[:60]) == U("5bc94fbc3221a5db94fae95ae7121a47")  # NIST TC4 tag
    for bad in ((bytes(15), bytes(12), 12), (bytes(16), bytes(11), 12), (bytes(16), bytes(12), 3),
                (bytes(16), bytes(12), 17)):
        e = _t.raises(Reject, gmac.gmac, bad[0], bad[1], b"x", bad[2])
        assert e.reason == "format"


def test_gbcs_gcm_published():
    k = bytes(range(16))
    iv = U("90b3d51f30030000 00000000")
    assert gcm.gmac(k, iv, b"helloworld") == U("fb3afed43b78508864f00da3")
    assert gcm.gmac(k, iv, b"helloworld", 4) == U("fb3afed4")
    c, t = gcm.encrypt(k, iv, b"one two three", b"helloworld", 12)
    assert c == U("584fa806b24491178829d46c38")
    assert t == U("6b33bdcb1e223242ec20b957")


def test_gbcs_kdf_ecs42():
    z = U("ed342441df01551a6beaff3b54adc981f4c6a7e71dff4c3e1cc80b3c9f4e5ac0")
    oi = kdf.gbcs_otherinfo(U("90b3d51f30010000"), 1, U("00000000000003e8"), U("00db1234567890a0"))
    assert oi == U("60857406080300 90b3d51f30010000 0901 00000000000003e8 00db1234567890a0")
    assert len(oi) == 33
    k = kdf.gbcs_kdf(z, U("90b3d51f30010000"), 1, U("00000000000003e8"), U("00db1234567890a0"))
    assert k == U("ec1d51bd8f8bf0cdd2314cf396cc12c0")
    assert kdf.gbcs_kdf(z, U("90b3d51f30010000"), 1, 1000, U("00db1234567890a0")) == k
    assert kdf.kdf_sha256(z, oi, 16) == k


def test_gbcs_gmac_ecs42_message():
    path = _t.shared_path("interop", "rtds", "RTDS-4.5.0", "7.1_ECS42", "ECS42_7.1_SUCCESS_COMMAND_GBCS.HEX")
    with open(path) as f:
        msg = U(f.read().strip())
    k = U("ec1d51bd8f8bf0cdd2314cf396cc12c0")
    iv = U("90b3d51f30010000 00000000")
    aad = U("110000000000") + msg[14:-12]
    assert len(aad) == 126
    assert gcm.gmac(k, iv, aad) == msg[-12:] == U("efd36e695298259fadf662fa")
    assert gcm.gmac(k, iv, aad, 16) == U("efd36e695298259fadf662faa5e56e2e")
    gcm.GCM(k).verify_gmac(iv, aad, msg[-12:])
    _t.raises(Reject, gcm.GCM(k).verify_gmac, iv, aad[:-1] + b"\x00", msg[-12:])


def test_gbcs_mac_ecs42_message():
    """KDF + GMAC in one call (the device's MAC path) against the RTDS ECS42 command's MAC."""
    path = _t.shared_path("interop", "rtds", "RTDS-4.5.0", "7.1_ECS42", "ECS42_7.1_SUCCESS_COMMAND_GBCS.HEX")
    with open(path) as f:
        msg = U(f.read().strip())
    z = U("ed342441df01551a6beaff3b54adc981f4c6a7e71dff4c3e1cc80b3c9f4e5ac0")
    orig = U("90b3d51f30010000")
    recip = U("00db1234567890a0")
    aad = U("110000000000") + msg[14:-12]
    assert gmac.gbcs_mac(z, orig, 1, U("00000000000003e8"), recip, aad) == msg[-12:]
    k = kdf.gbcs_kdf(z, orig, 2, 7, recip)  # a response (U = 2), full tag
    assert gmac.gbcs_mac(z, orig, 2, bytes(7) + b"\x07", recip, b"ab", 16) == gmac.gmac(k, orig + bytes(4), b"ab", 16)
    for bad in ((z[:31], orig, bytes(8)), (z, orig[:7], bytes(8)), (z, orig, bytes(9))):
        _t.raises(Reject, gmac.gbcs_mac, bad[0], bad[1], 1, bad[2], recip, aad)


def test_kdf_bad_input():
    z = bytes(32)
    _t.raises(Reject, kdf.gbcs_kdf, z[:31], bytes(8), 1, bytes(8), bytes(8))
    _t.raises(Reject, kdf.gbcs_kdf, z, bytes(7), 1, bytes(8), bytes(8))
    _t.raises(Reject, kdf.gbcs_kdf, z, bytes(8), 5, bytes(8), bytes(8))
    _t.raises(Reject, kdf.gbcs_kdf, z, bytes(8), 0, bytes(8), bytes(8))
    _t.raises(Reject, kdf.gbcs_kdf, z, bytes(8), 1, bytes(9), bytes(8))
    _t.raises(Reject, kdf.kdf_sha256, z, b"", 0)


def test_kdf_multiblock():
    import hashlib

    out = kdf.kdf_sha256(b"z", b"oi", 40)
    assert out == (hashlib.sha256(b"\x00\x00\x00\x01zoi").digest() + hashlib.sha256(b"\x00\x00\x00\x02zoi").digest())[:40]


def test_hmac_sha256_rfc4231():
    assert hmac_sha256(b"\x0b" * 20, b"Hi There") == U(
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    assert hmac_sha256(b"Jefe", b"what do ya want for nothing?") == U(
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    # test case 6: key longer than the block
    assert hmac_sha256(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First") == U(
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")


def test_ct_equal():
    assert ct.equal(b"abc", b"abc")
    assert not ct.equal(b"abc", b"abd")
    assert not ct.equal(b"abc", b"ab")
    assert not ct.equal(b"", b"a")
    assert ct.equal(b"", b"")
    assert not ct.equal(b"\x00" * 12, b"\x00" * 11 + b"\x80")
