"""Property tests (CPython, hypothesis) of firmware.crypto against independent implementations:
OpenSSL via `cryptography` (ECDSA, ECDH, AES-GCM) and python-ecdsa (RFC 6979 nonces), plus a
differential test of the big-integer helpers against CPython's own arithmetic."""
import hashlib

import ecdsa
import pytest
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings, strategies as st

from firmware.alerts import Reject
from firmware.crypto import ec256, ecmul, gcm, gmac, p256

N = p256.N
P = p256.P
scalars = st.integers(min_value=1, max_value=N - 1)
hashes32 = st.binary(min_size=32, max_size=32)
FAST = settings(max_examples=40, deadline=None)


def _key(d):
    return ec.derive_private_key(d, ec.SECP256R1())


def _pub(k, compressed=False):
    fmt = serialization.PublicFormat.CompressedPoint if compressed else serialization.PublicFormat.UncompressedPoint
    return k.public_key().public_bytes(serialization.Encoding.X962, fmt)


def _raw(der):
    r, s = utils.decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@FAST
@given(scalars, hashes32)
def test_sign_verifies_with_openssl_and_matches_python_ecdsa(d, h):
    d32 = d.to_bytes(32, "big")
    sig = p256.sign(d32, h)
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    _key(d).public_key().verify(utils.encode_dss_signature(r, s), h, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    sk = ecdsa.SigningKey.from_secret_exponent(d, curve=ecdsa.NIST256p, hashfunc=hashlib.sha256)
    assert sig == sk.sign_digest_deterministic(h, hashfunc=hashlib.sha256, sigencode=ecdsa.util.sigencode_string)


@FAST
@given(scalars, hashes32, st.integers(min_value=0, max_value=511), st.booleans())
def test_verify_agrees_with_openssl(d, h, flip, compressed):
    k = _key(d)
    sig = _raw(k.sign(h, ec.ECDSA(utils.Prehashed(hashes.SHA256()))))
    q = _pub(k, compressed)
    assert p256.verify(q, h, sig)
    bad = bytearray(sig)
    bad[flip // 8] ^= 1 << (flip % 8)
    bad = bytes(bad)
    r, s = int.from_bytes(bad[:32], "big"), int.from_bytes(bad[32:], "big")
    try:
        k.public_key().verify(utils.encode_dss_signature(r, s), h, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        want = 0 < r < N and 0 < s < N
    except InvalidSignature:
        want = False
    assert p256.verify(q, h, bad) is want


@settings(max_examples=8, deadline=None)
@given(scalars, st.lists(hashes32, min_size=1, max_size=4))
def test_verify_key_table_agrees(d, hs):
    k = _key(d)
    vk = p256.VerifyKey(_pub(k), w=4)
    for h in hs:
        sig = _raw(k.sign(h, ec.ECDSA(utils.Prehashed(hashes.SHA256()))))
        assert vk.verify(h, sig)
        assert not vk.verify(bytes(32) if h != bytes(32) else b"\x01" * 32, sig)


@FAST
@given(scalars, scalars, st.booleans())
def test_ecdh_agrees_with_openssl(a, b, compressed):
    ka, kb = _key(a), _key(b)
    z = p256.ecdh(a.to_bytes(32, "big"), _pub(kb, compressed))
    assert z == ka.exchange(ec.ECDH(), kb.public_key())
    assert p256.public_key(a.to_bytes(32, "big")) == _pub(ka)


@settings(max_examples=10, deadline=None)
@given(scalars, scalars)
def test_ecdh_with_prepared_peer_agrees_with_openssl(a, b):
    ka, kb = _key(a), _key(b)
    peer = p256.VerifyKey(_pub(kb), w=4)
    assert peer.mode == "ram"
    assert p256.ecdh(a.to_bytes(32, "big"), peer) == ka.exchange(ec.ECDH(), kb.public_key())


@FAST
@given(st.binary(min_size=1, max_size=65))
def test_decode_point_agrees_with_openssl(b):
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b)
        ok = True
    except ValueError:
        ok = False
    try:
        p256.decode_point(b)
        mine = True
    except Reject:
        mine = False
    assert mine is ok


@FAST
@given(st.integers(min_value=0, max_value=P - 1), st.booleans())
def test_decode_random_x(x, odd):
    b = bytes((2 | odd,)) + x.to_bytes(32, "big")
    try:
        want = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b).public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    except ValueError:
        want = None
    try:
        got = p256.encode_point(*p256.decode_point(b))
    except Reject:
        got = None
    assert got == want


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=16, max_size=16), st.binary(min_size=12, max_size=12), st.binary(max_size=80),
       st.binary(max_size=80), st.integers(min_value=4, max_value=16))
def test_gcm_agrees_with_openssl(key, iv, pt, aad, taglen):
    full = AESGCM(key).encrypt(iv, pt, aad)
    c, t = gcm.encrypt(key, iv, pt, aad, taglen)
    assert c + t == full[:len(pt) + taglen]
    assert gcm.decrypt(key, iv, c, aad, t) == pt
    if not pt:
        assert gcm.gmac(key, iv, aad, taglen) == t
    with pytest.raises(Reject):
        gcm.decrypt(key, iv, c, aad, bytes((t[0] ^ 0x40,)) + t[1:])
    bad = full[:-1] + bytes((full[-1] ^ 1,))
    with pytest.raises(InvalidTag):
        AESGCM(key).decrypt(iv, bad, aad)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=16, max_size=16), st.binary(min_size=12, max_size=12), st.binary(max_size=300),
       st.integers(min_value=4, max_value=16))
def test_lean_gmac_agrees_with_openssl(key, iv, aad, taglen):
    assert gmac.gmac(key, iv, aad, taglen) == AESGCM(key).encrypt(iv, b"", aad)[:taglen]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=N - 1), st.integers(min_value=1, max_value=P - 1))
def test_inverse_differential(a, b):
    assert ec256.inverse(a, N) == pow(a, -1, N)
    assert ec256.inverse(b, P) == pow(b, -1, P)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=N - 1), st.integers(min_value=1, max_value=N - 1))
def test_point_arithmetic_differential(k1, k2):
    # Jacobian madd/dbl and the window multiplication agree with affine textbook formulas
    def aff_add(p1, p2):
        if p1 is None:
            return p2
        if p2 is None:
            return p1
        (x1, y1), (x2, y2) = p1, p2
        if x1 == x2 and (y1 + y2) % P == 0:
            return None
        if p1 == p2:
            lam = (3 * x1 * x1 - 3) * pow(2 * y1, -1, P) % P
        else:
            lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
        x3 = (lam * lam - x1 - x2) % P
        return x3, (lam * (x1 - x3) - y1) % P

    g = (p256.GX, p256.GY)
    a = ecmul.jac_to_affine(*ecmul.jac_mul(k2, *g))
    X, Y, Z = ecmul.jac_mul(k1, *g)
    want = aff_add(None if Z == 0 else ecmul.jac_to_affine(X, Y, Z), a)
    X, Y, Z = ecmul.jac_madd(X, Y, Z, *a)
    assert (None if Z == 0 else ecmul.jac_to_affine(X, Y, Z)) == want
    X2, Y2, Z2 = ecmul.jac_dbl(*ecmul.jac_mul(k2, *g))
    assert ecmul.jac_to_affine(X2, Y2, Z2) == aff_add(a, a)
    # comb with in-RAM G table agrees with the window method
    t = p256.g_table()
    assert ec256.xyzz_to_affine(*t.add_mul(k2)) == a
    # XYZZ accumulator continuing from a Jacobian point, and the XYZZ doubling
    acc = t.add_mul(k2, *ecmul.jac_to_xyzz(*ecmul.jac_mul(k1, *g)))
    want2 = aff_add(None if k1 == 0 else ecmul.jac_to_affine(*ecmul.jac_mul(k1, *g)), a)
    assert (None if acc[2] == 0 else ec256.xyzz_to_affine(*acc)) == want2
    assert ec256.xyzz_to_affine(*ec256.xyzz_dbl(*ecmul.jac_to_xyzz(*ecmul.jac_mul(k2, *g)))) == aff_add(a, a)
