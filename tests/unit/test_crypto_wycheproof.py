"""Wycheproof P-256 vectors (../shared/interop/wycheproof): ecdsa_secp256r1_sha256_p1363_test.json
(262 cases) and ecdh_secp256r1_ecpoint_test.json (355 cases). Every case must give the expected
verdict; "acceptable" ECDH cases (compressed public keys, which we support) must then give the
expected shared secret. The JSON files are streamed line by line (they are pretty-printed, one
field per line), so no JSON tree is built. The heap is raised only so that this module can also
run verifications, ECDH and signing with in-RAM comb tables (G and per key), the layout a frozen
table has; test_own_vectors_with_tables_in_ram does that with the project's own vectors."""
import hashlib
import _t
from firmware.alerts import Reject
from firmware.crypto import p256

# 1M: the in-RAM G table is one 142 KB block; after the streamed vector tests a 512K heap was
# sometimes too fragmented to hold it (layout-dependent). Device paths are tested at 64K elsewhere.
MP_HEAPSIZE = "1M"

U = _t.unhex


def _fields(path, keys, emit_on):
    """Yield dicts of the string/int fields named in keys, one per occurrence of emit_on.
    Fields seen outside a test (e.g. the group's public key) persist until overwritten."""
    cur = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith('"'):
                continue
            i = line.find('":')
            if i < 0:
                continue
            k = line[1:i]
            if k not in keys:
                continue
            v = line[i + 2:].strip().rstrip(",").strip()
            if v.startswith('"'):
                v = v[1:-1]
            cur[k] = v
            if k == emit_on:
                yield cur
                cur = dict(cur)


def test_wycheproof_ecdsa_p1363():
    path = _t.shared_path("interop", "wycheproof", "ecdsa_secp256r1_sha256_p1363_test.json")
    n = bad = 0
    for t in _fields(path, ("uncompressed", "tcId", "msg", "sig", "result"), "result"):
        h = hashlib.sha256(U(t["msg"])).digest()
        got = p256.verify(U(t["uncompressed"]), h, U(t["sig"]))
        want = t["result"] == "valid"  # no "acceptable" cases in this file
        assert t["result"] in ("valid", "invalid"), t["tcId"]
        if got is not want:
            bad += 1
            print("ecdsa tcId %s: got %s want %s" % (t["tcId"], got, t["result"]))
        n += 1
    assert n == 262, n
    assert bad == 0, bad


def test_wycheproof_ecdsa_with_key_tables_in_ram():
    """Same cases through VerifyKey with an in-RAM (bytes) table per key and the G table in RAM."""
    path = _t.shared_path("interop", "wycheproof", "ecdsa_secp256r1_sha256_p1363_test.json")
    p256.load_g_table_into_ram()
    try:
        n = bad = 0
        vk = None
        for t in _fields(path, ("uncompressed", "tcId", "msg", "sig", "result"), "result"):
            q = U(t["uncompressed"])
            if vk is None or vk.pub != q:
                vk = p256.VerifyKey(q, w=4)
            got = vk.verify(hashlib.sha256(U(t["msg"])).digest(), U(t["sig"]))
            if got is not (t["result"] == "valid"):
                bad += 1
                print("ecdsa/VerifyKey tcId %s: got %s want %s" % (t["tcId"], got, t["result"]))
            n += 1
        assert n == 262 and bad == 0, (n, bad)
    finally:
        p256.set_g_table(None)


def test_own_vectors_with_tables_in_ram():
    """The project's own vectors through in-RAM tables (runs without ../shared too)."""
    p256.load_g_table_into_ram()
    try:
        n = 0
        vk = None
        with open(_t.ROOT + "/tests/vectors/crypto/p256.txt") as f:
            for line in f:
                parts = line.split()
                if not parts:
                    continue
                if parts[0] == "ecdsa":
                    q, h, sig, verdict, comment = parts[1:]
                    if vk is None or vk.pub != p256.encode_point(*p256.decode_point(U(q))):
                        vk = None
                        vk = p256.VerifyKey(U(q), w=5)
                        assert vk.mode == "ram"
                    assert vk.verify(U(h), U(sig)) is (verdict == "valid"), comment
                    n += 1
                elif parts[0] == "ecdh" and parts[4] == "valid":
                    d, q, z = parts[1:4]
                    assert p256.ecdh(U(d), p256.VerifyKey(U(q), w=4)) == U(z)
                    n += 1
                elif parts[0] == "sign":
                    assert p256.sign(U(parts[1]), U(parts[2])) == U(parts[3])
                    n += 1
        assert n >= 70, n
    finally:
        p256.set_g_table(None)


def test_wycheproof_ecdh_ecpoint():
    path = _t.shared_path("interop", "wycheproof", "ecdh_secp256r1_ecpoint_test.json")
    n = bad = 0
    counts = {}
    for t in _fields(path, ("tcId", "public", "private", "shared", "result"), "result"):
        d = int(t["private"], 16).to_bytes(32, "big")
        res = t["result"]
        counts[res] = counts.get(res, 0) + 1
        try:
            z = p256.ecdh(d, U(t["public"]))
        except Reject:
            z = None
        if res == "invalid":
            ok = z is None
        elif res == "valid":
            ok = z == U(t["shared"])
        else:  # acceptable: compressed points; we accept them, so the secret must be right
            ok = z == U(t["shared"])
        if not ok:
            bad += 1
            print("ecdh tcId %s (%s): got %r" % (t["tcId"], res, z))
        n += 1
    assert n == 355, n
    assert counts.get("invalid", 0) >= 20
    assert bad == 0, bad
