"""Regenerate tests/vectors/crypto/p256.txt (run with .venv/bin/python; CPython only).

Reference values come from OpenSSL (`cryptography`) and python-ecdsa (RFC 6979 nonces), never from
the firmware code. Fixed seeds make the file reproducible. One vector per line:
  pub   <d> <uncompressed Q>
  sign  <d> <sha256> <r||s>            deterministic (RFC 6979) signature
  ecdsa <Q> <sha256> <r||s> <valid|invalid> <comment>
  ecdh  <d> <peer Q> <Z or -> <valid|invalid> <comment>
"""
import hashlib
import os
import random

import ecdsa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B


def pub_bytes(k, compressed=False):
    fmt = serialization.PublicFormat.CompressedPoint if compressed else serialization.PublicFormat.UncompressedPoint
    return k.public_key().public_bytes(serialization.Encoding.X962, fmt)


def main():
    rnd = random.Random(20261123)
    lines = []
    keys = []
    ds = [1, 2, 3, N - 1, N - 2, 0x100, (1 << 255) + 7] + [rnd.randrange(1, N) for _ in range(5)]
    for d in ds:
        k = ec.derive_private_key(d, ec.SECP256R1())
        keys.append((d, k))
        lines.append("pub %064x %s" % (d, pub_bytes(k).hex()))
    for i, (d, k) in enumerate(keys[:8]):
        msg = b"smlab sign %d" % i
        h = hashlib.sha256(msg).digest()
        sk = ecdsa.SigningKey.from_secret_exponent(d, curve=ecdsa.NIST256p, hashfunc=hashlib.sha256)
        sig = sk.sign_digest_deterministic(h, hashfunc=hashlib.sha256, sigencode=ecdsa.util.sigencode_string)
        lines.append("sign %064x %s %s" % (d, h.hex(), sig.hex()))
    for i, (d, k) in enumerate(keys[7:]):
        q = pub_bytes(k).hex()
        h = hashlib.sha256(b"message %d" % i).digest()
        r, s = utils.decode_dss_signature(k.sign(h, ec.ECDSA(utils.Prehashed(hashes.SHA256()))))
        good = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        lines.append("ecdsa %s %s %s valid random" % (q, h.hex(), good.hex()))
        lines.append("ecdsa %s %s %s valid negated_s" % (q, h.hex(), (r.to_bytes(32, "big") + (N - s).to_bytes(32, "big")).hex()))
        lines.append("ecdsa %s %s %s invalid flipped_hash_bit" % (q, (bytes([h[0] ^ 1]) + h[1:]).hex(), good.hex()))
        lines.append("ecdsa %s %s %s invalid r_plus_n" % (q, h.hex(), ((r + N) % (1 << 256)).to_bytes(32, "big").hex() + s.to_bytes(32, "big").hex()))
        lines.append("ecdsa %s %s %s invalid s_zero" % (q, h.hex(), r.to_bytes(32, "big").hex() + "00" * 32))
        lines.append("ecdsa %s %s %s invalid r_zero" % (q, h.hex(), "00" * 32 + s.to_bytes(32, "big").hex()))
        lines.append("ecdsa %s %s %s invalid s_is_n" % (q, h.hex(), r.to_bytes(32, "big").hex() + N.to_bytes(32, "big").hex()))
        lines.append("ecdsa %s %s %s invalid short_sig" % (q, h.hex(), good[:63].hex()))
        lines.append("ecdsa %s %s %s invalid long_sig" % (q, h.hex(), (good + b"\x00").hex()))
        lines.append("ecdsa %s %s %s invalid short_hash" % (q, h[:31].hex(), good.hex()))
        lines.append("ecdsa %s %s %s valid compressed_key" % (pub_bytes(k, True).hex(), h.hex(), good.hex()))
    for i in range(6):
        a = ec.derive_private_key(rnd.randrange(1, N), ec.SECP256R1())
        b = ec.derive_private_key(rnd.randrange(1, N), ec.SECP256R1())
        z = a.exchange(ec.ECDH(), b.public_key()).hex()
        da = "%064x" % a.private_numbers().private_value
        lines.append("ecdh %s %s %s valid uncompressed" % (da, pub_bytes(b).hex(), z))
        lines.append("ecdh %s %s %s valid compressed" % (da, pub_bytes(b, True).hex(), z))
    # invalid peer keys
    d0 = "%064x" % keys[8][0]
    q = pub_bytes(keys[9][1])
    lines.append("ecdh %s %s - invalid off_curve" % (d0, (q[:-1] + bytes([q[-1] ^ 1])).hex()))
    y = int.from_bytes(q[33:], "big")
    lines.append("ecdh %s %s - invalid y_plus_p" % (d0, "04" + q[1:33].hex() + "%064x" % (y + P) if y + P < 1 << 256 else "04" + q[1:33].hex() + "ff" * 32))
    lines.append("ecdh %s %s - invalid x_is_p" % (d0, "04" + "%064x" % P + q[33:].hex()))
    lines.append("ecdh %s %s - invalid infinity" % (d0, "00"))
    lines.append("ecdh %s %s - invalid zero_point" % (d0, "04" + "00" * 64))
    lines.append("ecdh %s %s - invalid bad_prefix" % (d0, "05" + q[1:].hex()))
    lines.append("ecdh %s %s - invalid short" % (d0, q[:64].hex()))
    bad_x = next(x for x in range(1, 100) if pow((x ** 3 - 3 * x + B) % P, (P - 1) // 2, P) != 1)
    lines.append("ecdh %s %s - invalid compressed_not_on_curve" % (d0, "02" + "%064x" % bad_x))
    lines.append("ecdh %s %s - invalid compressed_x_is_p" % (d0, "03" + "%064x" % P))
    lines.append("ecdh %s %s - invalid private_zero" % ("00" * 32, q.hex()))
    lines.append("ecdh %s %s - invalid private_n" % ("%064x" % N, q.hex()))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "p256.txt")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d vectors to %s" % (len(lines), out))


if __name__ == "__main__":
    main()
