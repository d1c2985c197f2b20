"""P-256: the project's own vectors (tests/vectors/crypto/p256.txt, generated from OpenSSL and
python-ecdsa by gen_p256.py), point decoding/validation, malformed signatures, RFC 6979
determinism, VerifyKey tables, the ECDH cache, and the GBCS ECS42 Z from the RTDS keystore."""
import hashlib
import _t
from firmware.alerts import Reject
from firmware.crypto import p256
from firmware.crypto.ecmul import jac_to_affine
from firmware.crypto.ecmul import jac_mul

U = _t.unhex
VEC = _t.ROOT + "/tests/vectors/crypto/p256.txt"


def _tmp(name):
    """A table path for this interpreter with no file left over from an earlier run."""
    import os
    import sys

    path = "/tmp/smlab_%s_%s.tab" % (sys.implementation.name, name)
    for p in (path, path + ".key"):
        try:
            os.stat(p)
        except OSError:
            continue
        os.remove(p)
    return path


def _vectors(kind):
    with open(VEC) as f:
        for line in f:
            parts = line.split()
            if parts and parts[0] == kind:
                yield parts[1:]


def test_field_constants():
    assert p256.on_curve(p256.GX, p256.GY)
    assert p256.P == (1 << 256) - (1 << 224) + (1 << 192) + (1 << 96) - 1
    # n * G is the point at infinity: (n - 1) * G == -G
    x, y = jac_to_affine(*jac_mul(p256.N - 1, p256.GX, p256.GY))
    assert (x, y) == (p256.GX, p256.P - p256.GY)
    assert jac_mul(p256.N, p256.GX, p256.GY)[2] == 0


def test_inverse_matches_fermat():
    for a in (1, 2, 3, p256.N - 1, 0x1234567890ABCDEF << 100, p256.GX):
        assert p256.inverse(a, p256.N) == pow(a, p256.N - 2, p256.N)
        assert p256.inverse(a, p256.P) == pow(a, p256.P - 2, p256.P)
    assert p256.inverse(0, p256.P) == 0


def test_comb_digit_edges():
    # scalars whose signed digits hit the edges: all-ones windows (carry chains), digits of exactly
    # 2^(w-1), a final carry into the extra row; the comb and the window method must agree
    t = p256.g_table()
    w = t.w
    half = 1 << (w - 1)
    cases = [1, 2, half, half + 1, (1 << w) - 1, (1 << 256) - 1 - (1 << 255), p256.N - 1, p256.N - half,
             sum(half << (w * j) for j in range(256 // w)) % p256.N, ((1 << 252) - 1) * 15 % p256.N]
    from firmware.crypto.ec256 import xyzz_to_affine

    for e in cases:
        assert xyzz_to_affine(*t.add_mul(e)) == jac_to_affine(*jac_mul(e, p256.GX, p256.GY)), e


def test_public_keys():
    n = 0
    for d, q in _vectors("pub"):
        assert p256.public_key(U(d)) == U(q)
        n += 1
    assert n >= 10


def test_sign_rfc6979_matches_python_ecdsa():
    n = 0
    for d, h, sig in _vectors("sign"):
        assert p256.sign(U(d), U(h)) == U(sig)
        n += 1
    assert n >= 8


def test_ecdsa_vectors():
    n = 0
    cache = {}
    for q, h, sig, verdict, comment in _vectors("ecdsa"):
        want = verdict == "valid"
        assert p256.verify(U(q), U(h), U(sig)) is want, comment
        if q not in cache and len(cache) < 1:
            cache[q] = p256.VerifyKey(U(q), w=5, path=_tmp("vectors"))
        if q in cache:
            assert cache[q].verify(U(h), U(sig)) is want, comment
            assert p256.verify(cache[q], U(h), U(sig)) is want, comment
        n += 1
    for vk in cache.values():
        vk.close()
    assert n >= 50


def test_ecdh_vectors():
    n = 0
    for d, q, z, verdict, comment in _vectors("ecdh"):
        if verdict == "valid":
            assert p256.ecdh(U(d), U(q)) == U(z), comment
        else:
            e = _t.raises(Reject, p256.ecdh, U(d), U(q))
            assert e.reason == "key", comment
        n += 1
    assert n >= 20


def test_decode_point_rejects():
    good = p256.encode_point(p256.GX, p256.GY)
    assert p256.decode_point(good) == (p256.GX, p256.GY)
    assert p256.decode_point(p256.encode_point(p256.GX, p256.GY, True)) == (p256.GX, p256.GY)
    bad = [b"", b"\x00", b"\x04", good[:-1], good + b"\x00", b"\x06" + good[1:], b"\x04" + bytes(64),
           good[:-1] + bytes((good[-1] ^ 1,)), b"\x02" + p256.P.to_bytes(32, "big"), b"\x04" + b"\xff" * 64,
           b"\x04" + p256.GX.to_bytes(32, "big") + (p256.GY + p256.P).to_bytes(33, "big")[1:]]
    for b in bad:
        e = _t.raises(Reject, p256.decode_point, b)
        assert e.reason == "key"
    _t.raises(Reject, p256.decode_point, None)


def test_verify_malformed_is_false():
    d = bytes(31) + b"\x07"
    q = p256.public_key(d)
    h = hashlib.sha256(b"x").digest()
    sig = p256.sign(d, h)
    assert p256.verify(q, h, sig)
    n = p256.N.to_bytes(32, "big")
    for s in (b"", sig[:63], sig + b"\x00", bytes(64), sig[:32] + bytes(32), bytes(32) + sig[32:],
              n + sig[32:], sig[:32] + n, b"\xff" * 64):
        assert p256.verify(q, h, s) is False
    assert p256.verify(q, h[:31], sig) is False
    assert p256.verify(q, h + b"\x00", sig) is False
    _t.raises(Reject, p256.verify, q[:-1], h, sig)


def test_sign_deterministic_and_rejects_bad_keys():
    d = bytes(31) + b"\x2a"
    h = hashlib.sha256(b"abc").digest()
    assert p256.sign(d, h) == p256.sign(d, h)
    assert p256.sign(d, h) != p256.sign(d, hashlib.sha256(b"abd").digest())
    _t.raises(Reject, p256.sign, bytes(32), h)
    _t.raises(Reject, p256.sign, p256.N.to_bytes(32, "big"), h)
    _t.raises(Reject, p256.sign, d[:31], h)
    _t.raises(Reject, p256.sign, d, h[:31])
    _t.raises(Reject, p256.public_key, bytes(32))


def test_verify_key_tables_and_file(tmp=None):
    d = bytes(31) + b"\x05"
    q = p256.public_key(d)
    h = hashlib.sha256(b"file table").digest()
    sig = p256.sign(d, h)
    path = _tmp("vk")
    vk = p256.VerifyKey(q, w=4, path=path)
    assert vk.verify(h, sig) and not vk.verify(h, sig[:63] + b"\x00")
    vk.close()
    vk2 = p256.VerifyKey(q, w=4, path=path)  # reuses the file
    assert vk2.verify(h, sig)
    vk2.close()
    other = p256.public_key(bytes(31) + b"\x06")
    vk3 = p256.VerifyKey(other, w=4, path=path)  # different key: the file is rebuilt
    assert not vk3.verify(h, sig)
    vk3.close()
    import os
    from firmware.crypto.keyfile import _file_crc

    vk3 = p256.VerifyKey(q, w=4, path=path)  # back to q
    vk3.close()
    with open(path + ".key", "rb") as f:
        tag = f.read()
    assert tag[:66] == q + b"\x04" and len(tag) == 70
    crc = _file_crc(path)
    assert tag[66:] == crc.to_bytes(4, "big")
    # a truncated table (power cut while writing) is rebuilt
    with open(path, "rb") as f:
        head = f.read(1000)
    with open(path, "wb") as f:
        f.write(head)
    vk4 = p256.VerifyKey(q, w=4, path=path)
    assert vk4.mode == "file" and vk4.verify(h, sig)
    vk4.close()
    assert os.stat(path)[6] == vk4.table.nbytes
    # a corrupted entry (right size, wrong CRC) is rebuilt too
    with open(path, "r+b") as f:
        f.seek(640)
        f.write(b"\x55" * 64)
    assert _file_crc(path) != crc
    vk4 = p256.VerifyKey(q, w=4, path=path)
    vk4.close()
    assert _file_crc(path) == crc
    # another key's complete table under q's tag (a power cut between table and tag): CRC mismatch
    vko = p256.VerifyKey(other, w=4, path=path)
    vko.close()
    with open(path + ".key", "wb") as f:
        f.write(tag)
    vk4 = p256.VerifyKey(q, w=4, path=path)
    assert vk4.verify(h, sig)
    vk4.close()
    assert _file_crc(path) == crc
    # in-RAM tables (bytes / frozen) are exercised in test_crypto_wycheproof (larger heap)


def test_verify_key_in_ram_or_window_fallback():
    import sys

    d = bytes(31) + b"\x09"
    q = p256.public_key(d)
    h = hashlib.sha256(b"fallback").digest()
    sig = p256.sign(d, h)
    vk = p256.VerifyKey(q)  # default width: a 151 KB table, more than a 96 KB heap holds
    if sys.implementation.name == "micropython":
        assert vk.mode == "window"
    else:
        assert vk.mode == "ram"
    assert vk.verify(h, sig)
    assert not vk.verify(h, sig[:63] + bytes((sig[63] ^ 4,)))
    assert not vk.verify(h, b"")
    assert p256.verify(vk, h, sig)


def test_g_table_file_entries():
    # entry (row j, k) of the shipped G table is k * 2^(w*j) * G, affine x || y
    w = p256.G_WIDTH
    half = 1 << (w - 1)
    t = p256.CombTable(w, path=p256.g_table_path())
    t.close()
    assert t.nbytes == p256._file_size(p256.g_table_path())
    with open(p256.g_table_path(), "rb") as f:
        for j, k in ((0, 1), (0, half), (1, 3), (17, 5), (t.rows - 1, half - 1), (t.rows - 1, 1)):
            f.seek((j * half + k - 1) * 64)
            x, y = jac_to_affine(*jac_mul((k << (w * j)) % p256.N, p256.GX, p256.GY))
            assert f.read(64) == x.to_bytes(32, "big") + y.to_bytes(32, "big"), (j, k)


def test_static_secret_cache():
    a = bytes(31) + b"\x0b"
    b = bytes(31) + b"\x0d"
    qa = p256.public_key(a)
    qb = p256.public_key(b)
    ss = p256.StaticSecret(a)
    z = ss.z(qb)
    assert z == p256.ecdh(b, qa)
    assert ss.z(qb) is z  # cached
    ss.forget(qb)
    z2 = ss.z(qb)
    assert z2 == z and z2 is not z
    ss.forget()
    _t.raises(Reject, ss.z, qb[:-1])
    # a prepared peer key (comb table in a file) gives the same Z, cached under the same entry
    vkb = p256.VerifyKey(qb, w=4, path=_tmp("ecdh"))
    try:
        assert vkb.mode == "file"
        assert p256.ecdh(a, vkb) == z
        assert ss.z(vkb) == z and ss.z(qb) is ss.z(vkb)
        ss.forget(vkb)
        assert ss.z(qb) == z
        _t.raises(Reject, p256.ecdh, bytes(32), vkb)
    finally:
        vkb.close()
    _t.raises(Reject, p256.StaticSecret, bytes(32))


def _pem_der(path):
    import binascii

    with open(path) as f:
        body = "".join(l.strip() for l in f if not l.startswith("-----"))
    return binascii.a2b_base64(body)


def _pem_point(path):
    der = _pem_der(path)
    i = der.find(b"\x03\x42\x00\x04")
    return der[i + 3:i + 3 + 65]


def _pkcs8_scalar(path):
    der = _pem_der(path)
    i = der.find(b"\x02\x01\x01\x04\x20")
    return der[i + 5:i + 5 + 32]


def test_gbcs_ecs42_z_and_kdf_vectors():
    from firmware.crypto import kdf

    ks = _t.shared_path("interop", "rtds", "keystore")
    d = _pkcs8_scalar(ks + "/00db1234567890a0-ka.key")
    acb = _pem_point(ks + "/90b3d51f30000002-ka.pem")
    sup = _pem_point(ks + "/90b3d51f30010000-ka.pem")
    z = p256.ecdh(d, acb)
    assert z == U("ed342441df01551a6beaff3b54adc981f4c6a7e71dff4c3e1cc80b3c9f4e5ac0")
    dev = U("00db1234567890a0")
    org = U("90b3d51f30010000")
    assert kdf.gbcs_kdf(z, org, 1, U("0000000100000000"), dev) == U("6a93e360717394015df93e031218c9a6")
    zs = p256.ecdh(d, sup)
    assert kdf.gbcs_kdf(zs, dev, 2, U("0000000100000000"), org) == U("03fd30815577c49eb7e3834b63ef8302")
    assert kdf.gbcs_kdf(zs, dev, 3, U("00000000000007d1"), org) == U("558fb1fa6660af0d9e8365c47804b8fa")
    # the mirror side (ACB private x device public) gives the same Z
    acb_d = _pkcs8_scalar(ks + "/90b3d51f30000002-ka.key")
    assert p256.ecdh(acb_d, _pem_point(ks + "/00db1234567890a0-ka.pem")) == z
