"""Durable store against a model: a long pseudo-random sequence of puts, deletes, log appends,
counter advances, re-opens and boots must always read back what the model says (both interpreters).
"""
import os
from binascii import hexlify

from firmware.store.durable import Store


def _rmtree(p):
    for n in os.listdir(p):
        os.remove(p + "/" + n)
    os.rmdir(p)


def test_store_matches_model_over_random_sequence():
    root = "/tmp/smlab-model-" + hexlify(os.urandom(6)).decode()
    s = Store(root)
    recs = {}
    logs = {"security": [], "event2": []}
    ctrs = {"a": 0, "b": 0}
    x = 12345
    try:
        for i in range(400):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            op = x % 12
            name = ("r0", "r1", "r2")[(x >> 8) % 3]
            if op < 4:
                v = bytes(((x >> 4) + j) & 0xFF for j in range((x >> 12) % 90))
                s.put(name, v)
                recs[name] = v
            elif op == 4:
                s.delete(name)
                recs.pop(name, None)
            elif op < 7:
                ln = ("security", "event2")[(x >> 9) & 1]
                e = "e%d" % i if x & 0x100 else b"b%d" % i
                s.log(ln, 6).append(e)
                logs[ln].append(e)
            elif op < 9:
                cn = ("a", "b")[(x >> 9) & 1]
                ctrs[cn] += (x >> 10) % 5
                s.counter(cn).advance_to(ctrs[cn])
            elif op == 9:
                s = Store(root)  # a reboot without boot()
            else:
                s = Store(root)
                assert s.boot() == []
            for n in ("r0", "r1", "r2"):
                assert s.get(n) == recs.get(n), (i, n)
            for ln, hist in logs.items():
                got = s.log(ln, 6).entries()
                assert got == hist[len(hist) - len(got):] and len(got) <= 6, (i, ln)
                assert len(got) >= min(3, len(hist))
            for cn, v in ctrs.items():
                assert s.counter(cn).value == v
        assert s.log("event").entries() == []  # nothing was ever corrupt
    finally:
        _rmtree(root)
