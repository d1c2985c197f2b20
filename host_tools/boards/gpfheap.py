"""Run the Gas Proxy Function's work inside `micropython -X heapsize=N` as deployed (.mpy) and check
every answer on the host: the GPF's memory figures in docs/board-memory.md.

    tree = build_tree(tmp)                       # .mpy modules, as `smlab build` deploys them
    store = provision(tmp, keys)                 # the RTDS GPF (bench Z, host_tools/gbcs/gpf_rtds.py)
    files = inputs(tmp, keys)                    # its commands, a mirror report, the GSME's messages
    res = run(tree, store, files, "64K")         # the sequence below
    check(res, keys, files)                      # the host verifies every response

SEQUENCE: boot (trust state, gate, the mirror), a mirror report from the GSME, GCS13a (GPF read:
MAC'd command, encrypted reply from the mirror, KDF U=04), GCS59 (Device Log restore, DER), a
message queued for the GSME, the GSME's GET (02 n msg), its PUT of a GCS23 response (a tap-off
applied to the mirror), a power-on (a new process on the same store), GCS13a again (a replay,
refused). The GCS13a response is verified with the supplier's published KA key and decrypted; its
register equals the report's; GCS59's content equals RTDS's. Needs ../shared.
"""
import os
import subprocess

from host_tools.boards import build as B
from host_tools.gbcs import corpus as C

GPF = bytes.fromhex("00db1234567890a3")
FILES = {"gcs13a": "4.1.1_GCS13a/GCS13a_4.1.1_SUCCESS_RELIABLE_GPF", "gcs59": "8.12.2_GCS59/GCS59_8.12.2_SUCCESS",
         "gcs23": "6.6_GCS23/GCS23_6.6_SUCCESS"}
SEQUENCE = (("report", "ok"), ("gcs13a", "ok"), ("gcs59", "ok"), ("queue", "ok"), ("get", "ok"), ("put", "ok"),
            ("reboot", "ok"), ("gcs13a", "replay"))
REGISTER = 0x123456

DEVICE = r'''
import sys, gc
sys.path[0] = ""
from firmware import gcpolicy
gcpolicy.apply()
from binascii import unhexlify as u, hexlify as h
from firmware.alerts import Reject
from firmware.store.durable import Store
from firmware.roles import gpf as R
V = sys.argv[2]
class B:
    @staticmethod
    def time():
        return 1420070400
def f(name):
    with open(V + "/" + name + ".hex") as x:
        return u(x.read().strip())
def seq(p, out):
    e = R.build(B, Store(p), p)
    from firmware.gas import gpf
    for name in sys.argv[3].split(","):
        if name == "reboot":
            out("R", name, len(e.gas.st["gq"]))
        elif name == "report":
            out("R", name, gpf.report(e, f("report")))
        elif name == "queue":
            out("R", name, gpf.queue(e, f("gcs23")))
        elif name == "get":
            out("R", name, h(gpf.get(e)[:2]).decode())
        elif name == "put":
            out("R", name, 1 if gpf.put(e, f("gcs23r")) is not None else 0)
        else:
            try:
                out("R", name, h(e.process(f(name))).decode())
            except Reject as x:
                out("X", name, x.reason, x.code)
        gc.collect()
    return e
b = None
if len(sys.argv) > 4:
    seq(sys.argv[4], lambda *a: None)
    gc.collect()
    for n in (4096, 1024, 256, 64, 16):
        while gc.mem_free() > int(sys.argv[5]) + n + 32:
            try:
                b = [b, bytearray(n)]
            except MemoryError:
                break
    print("SPARE", gc.mem_free())
e = seq(sys.argv[1], print)
print("END", gc.mem_free(), len(e.gas.st["gq"]))
'''


def build_tree(out):
    B.build("host", out)
    with open(os.path.join(out, "gpf_run.py"), "w") as f:
        f.write(DEVICE)
    return out


def inputs(out, keys):
    """The RTDS commands, the GCS23 response (the GSME's PUT) and a mirror report as hex files."""
    from firmware.gas import gpf
    from firmware.gas.model import GasModel

    os.makedirs(out, exist_ok=True)

    def put(name, data):
        with open(os.path.join(out, name + ".hex"), "w") as g:
            g.write(data.hex())

    for name, path in FILES.items():
        put(name, C.load_hex(os.path.join(C.RTDS, path + "_COMMAND_GBCS.HEX")))
    put("gcs23r", C.load_hex(os.path.join(C.RTDS, FILES["gcs23"] + "_RESPONSE_GBCS.HEX")))

    class S:
        def get_json(self, name, default=None):
            return default

    g = GasModel(S())
    g.set_attr(g.st, 0x0702, 0x0000, 0x25, REGISTER.to_bytes(6, "little"))
    for a, t, v in ((0x0302, 0x22, b"\xe8\x03\x00"), (0x0301, 0x22, b"\x01\x00\x00"), (0x0300, 0x30, b"\x01")):
        g.set_attr(g.st, 0x0702, a, t, v)
    put("report", gpf.build_report(g, 1420070400 - 946684800))
    return out


def provision(root, keys):
    from firmware.store.durable import Store
    from host_tools.gbcs import gpf_rtds

    gpf_rtds.GpfRole().provision_store(Store(root), keys, root)
    return root


def run(tree, store, files, heap, timeout=180, sequence=SEQUENCE, warm=None, spare=0):
    """As host_tools/boards/gsmeheap.py run(): a "reboot" step starts a new process on the same store."""
    names = [n for n, _ in sequence]
    parts, cur = [], []
    for n in names:
        if n == "reboot":
            parts.append(cur)
            cur = [n]
        else:
            cur.append(n)
    parts.append(cur)
    res = {"rc": 0, "out": "", "lines": [], "spare": []}
    for i, part in enumerate(parts):
        cmd = [B.venv_bin("micropython"), "-X", "heapsize=" + heap, "gpf_run.py", os.path.abspath(store),
               os.path.abspath(files), ",".join(part)]
        if warm:
            cmd += [os.path.abspath(warm), str(spare)]
        p = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, timeout=timeout)
        res["out"] += p.stdout + p.stderr
        res["rc"] = res["rc"] or p.returncode
        lines = [ln.split(" ") for ln in p.stdout.splitlines() if ln[:2] in ("R ", "X ", "EN")]
        if i < len(parts) - 1:
            lines = [ln for ln in lines if ln[0] != "END"]
        res["lines"] += lines
        res["spare"] += [int(ln.split()[1]) for ln in p.stdout.splitlines() if ln.startswith("SPARE ")]
        if p.returncode:
            break
    return res


def check(res, keys, files, sequence=SEQUENCE):
    """AssertionError unless every step gave its outcome and every response verifies on the host;
    returns the free heap the device reported at the end."""
    from firmware.gbcs import frame, gbz, gbzinfo
    from host_tools.gbcs import verify as V
    from host_tools.gbcs.gsme_rtds import plaintext

    assert res["rc"] == 0, res["out"][-800:]
    lines = res["lines"]
    assert len(lines) == len(sequence) + 1, res["out"][-800:]
    ka = keys.device_pub(GPF, "ka")
    for (name, want), ln in zip(sequence, lines):
        assert ln[1] == name, (name, ln)
        if want != "ok":
            assert ln[0] == "X" and ln[2] == want, (name, ln)
            continue
        assert ln[0] == "R", (name, ln)
        if name in ("report", "queue", "put"):
            assert int(ln[2]) >= 1, ln
            continue
        if name == "get":
            assert ln[2] == "0200", ln  # the message, none waiting after it
            continue
        if name == "reboot":
            assert ln[2] == "0", ln  # the PUT took the message off the queue, durably
            continue
        with open(os.path.join(files, name + ".hex")) as f:
            cmd = frame.parse(bytes.fromhex(f.read().strip()))
        r = frame.parse(bytes.fromhex(ln[2]))
        assert r.cra == frame.CRA_RESPONSE and r.counter == cmd.counter and r.originator == GPF, name
        sup = keys.parties[cmd.originator]
        assert r.mac_header and V.verify_mac(r, sup.priv["ka"], ka), name
        if name == "gcs13a":
            comp = gbz.parse(bytes(r.content)).components[0]
            pt = plaintext(keys, GPF, r, comp)
            recs = {a: v for a, _, _, v in gbzinfo.attribute_records(pt)}
            assert recs[0x0000] == REGISTER.to_bytes(6, "little"), recs
        else:
            exp = frame.parse(C.load_hex(os.path.join(C.RTDS, FILES[name] + "_RESPONSE_GBCS.HEX")))
            assert bytes(r.content) == bytes(exp.content), name
    end = lines[-1]
    assert end[0] == "END" and end[2] == "0", end
    return int(end[1])


def working_set(tree, tmp, keys, files, lo=0, hi=96 * 1024, step=512):
    """Smallest free heap (bytes, within step) with which the GPF sequence still passes once its code
    is loaded (ballast runs at a 512K heap, bisection; as host_tools/boards/hubheap.py)."""
    best = None
    while hi - lo > step:
        mid = (lo + hi) // 2
        res = run(tree, provision(os.path.join(tmp, "ws%d" % mid), keys), files, "512K",
                  warm=provision(os.path.join(tmp, "wsw%d" % mid), keys), spare=mid)
        try:
            check(res, keys, files)
            hi = mid
            best = res["spare"][0] if res["spare"] else mid
        except AssertionError:
            lo = mid
    return best
