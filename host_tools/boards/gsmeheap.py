"""Run the GSME's boot and critical command path inside `micropython -X heapsize=N` as deployed (.mpy)
and check every answer on the host: the gas meter's memory figures in docs/board-memory.md.

    tree = build_tree(tmp)                      # .mpy modules, as `smlab build` deploys them
    store = provision(tmp, keys)                # the RTDS GSME (bench Z, host_tools/gbcs/gsme_rtds.py)
    res = run(tree, store, cmds, "96K")         # boot + the GSME sequence
    check(res, keys, cmds)                      # the host verifies every response

The sequence (SEQUENCE) is the boot and the critical command path: boot (the role as
firmware.roles.gsme.Gsme builds it: trust state, gate, the valve's GBZ path, the gas model), GCS39
arm the valve (KRP-signed command, signed response), GCS32 close it (signed), the consumer's button
(a closed valve stays closed), a reboot (a new process on the same store: a power-on starts from a
fresh heap), a replay (refused). FULL adds GCS33 (MAC'd read), a CS01b top-up through the UTRN
acceptor (the role as firmware.roles.build makes it) and GCS13a (an encrypted GBZ component, KDF
U=04). Signed responses are checked with the GSME's DS public key, MAC'd ones with the supplier's
published KA key, the encrypted component decrypted with it; the valve answers equal RTDS's. Needs
../shared (the RTDS corpus and keystore).
"""
import os
import subprocess

from host_tools.boards import build as B
from host_tools.gbcs import corpus as C

GSME = bytes.fromhex("00db1234567890a1")
FILES = {"gcs39": "7.3_GCS39/GCS39_7.3_SUCCESS", "gcs33": "7.4_GCS33/GCS33_7.4_SUCCESS",
         "cs01b": "2.2_CS01b/CS01b_2.2_SUCCESS", "gcs13a": "4.1.1_GCS13a/GCS13a_4.1.1_ERROR",
         "gcs32": "7.2_GCS32/GCS32_7.2_ERROR"}
# the boot and critical command path (the valve: KRP-signed commands, signed responses): what must
# fit in the 96K heap
SEQUENCE = (("gcs39", "ok"), ("gcs32", "ok"), ("button", "ok"), ("reboot", "ok"), ("gcs39", "replay"))
# the GSME's other work: reads (MAC'd, one encrypted) and a CS01b top-up through the UTRN acceptor
# (the role as firmware.roles.build makes it)
FULL = (("gcs39", "ok"), ("gcs33", "ok"), ("cs01b", "ok"), ("gcs13a", "ok"), ("gcs32", "ok"), ("button", "ok"),
        ("reboot", "ok"), ("gcs39", "replay"))

DEVICE = r'''
import sys, gc
sys.path[0] = ""
from firmware import gcpolicy
gcpolicy.apply()
from binascii import unhexlify as u, hexlify as h
from firmware.alerts import Reject
from firmware.store.durable import Store
from firmware.roles import gsme
V = sys.argv[2]
A = "cs01b" in sys.argv[3]  # the UTRN acceptor only when the sequence tops up
class B:
    @staticmethod
    def time():
        return 1420070400
def boot(p):
    if A:
        return gsme.build(B, Store(p), p)
    return gsme.Gsme(Store(p), B.time, p)
def seq(p, out):
    e = boot(p)
    for name in sys.argv[3].split(","):
        if name == "reboot":  # the first step of a new process: the state it powered on with
            out("R", name, e.gas.supply())
        elif name == "button":
            out("R", name, e.gas.button())
        else:
            with open(V + "/" + name + ".hex") as f:
                cmd = u(f.read().strip())
            try:
                out("R", name, h(e.process(cmd)).decode())
            except Reject as x:
                out("X", name, x.reason, x.code)
            cmd = None
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
print("END", gc.mem_free(), e.gas.supply(), e.gas.credit())
'''


def build_tree(out):
    """The deployed .mpy tree with this module's device script."""
    B.build("host", out)
    with open(os.path.join(out, "gsme_run.py"), "w") as f:
        f.write(DEVICE)
    return out


def commands(out):
    """The RTDS commands of SEQUENCE as hex files in out/ (returned)."""
    os.makedirs(out, exist_ok=True)
    for name, path in FILES.items():
        with open(os.path.join(C.RTDS, path + "_COMMAND_GBCS.HEX")) as f, \
                open(os.path.join(out, name + ".hex"), "w") as g:
            g.write(f.read().strip())
    return out


def provision(root, keys):
    """The RTDS GSME store as host_tools/gbcs/gsme_rtds.py provisions it (DS comb tables in root)."""
    from firmware.store.durable import Store
    from host_tools.gbcs import gsme_rtds

    gsme_rtds.GsmeRole().provision_store(Store(root), keys, root)
    return root


def run(tree, store, cmds, heap, timeout=180, sequence=SEQUENCE, warm=None, spare=0):
    """Run `sequence` on the device at -X heapsize=heap; returns a dict: rc, lines, out, spare. A
    "reboot" step is a power-on: the steps after it run in a new micropython process (a fresh heap,
    as a device restarts) on the same store, which first reports the valve state it booted with.
    With warm (a second provisioned store) each process first runs its steps there (all code
    loaded), then fills the heap with ballast down to `spare` free bytes: the working memory."""
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
        cmd = [B.venv_bin("micropython"), "-X", "heapsize=" + heap, "gsme_run.py", os.path.abspath(store),
               os.path.abspath(cmds), ",".join(part)]
        if warm:
            cmd += [os.path.abspath(warm), str(spare)]
        p = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, timeout=timeout)
        res["out"] += p.stdout + p.stderr
        res["rc"] = res["rc"] or p.returncode
        lines = [ln.split(" ") for ln in p.stdout.splitlines() if ln[:2] in ("R ", "X ", "EN")]
        if i < len(parts) - 1:
            lines = [ln for ln in lines if ln[0] != "END"]  # only the last process reports the end
        res["lines"] += lines
        res["spare"] += [int(ln.split()[1]) for ln in p.stdout.splitlines() if ln.startswith("SPARE ")]
        if p.returncode:
            break
    return res


def _rtds_content(path):
    from firmware.gbcs import frame

    return bytes(frame.parse(C.load_hex(os.path.join(C.RTDS, path + "_RESPONSE_GBCS.HEX"))).content)


def check(res, keys, cmds, sequence=SEQUENCE):
    """AssertionError unless every step gave its outcome and every response verifies on the host;
    returns the free heap the device reported at the end."""
    from firmware.gbcs import frame, gbz, gbzinfo
    from host_tools.gbcs import gsme_rtds, verify as V

    assert res["rc"] == 0, res["out"][-800:]
    lines = res["lines"]
    assert len(lines) == len(sequence) + 1, res["out"][-800:]
    ka = keys.device_pub(GSME, "ka")
    ds = gsme_rtds.GsmeRole().ds_pub()
    for (name, want), ln in zip(sequence, lines):
        assert ln[1] == name, (name, ln)
        if want != "ok":
            assert ln[0] == "X" and ln[2] == want, (name, ln)
            continue
        assert ln[0] == "R", (name, ln)
        if name == "button":
            assert ln[2] == "0", ln  # closed by GCS32: the button does not open it
            continue
        if name == "reboot":
            assert ln[2] == "0", ln
            continue
        with open(os.path.join(cmds, name + ".hex")) as f:
            cmd = frame.parse(bytes.fromhex(f.read().strip()))
        r = frame.parse(bytes.fromhex(ln[2]))
        assert r.cra == frame.CRA_RESPONSE and r.counter == cmd.counter and r.originator == GSME, name
        if cmd.signature:
            assert not r.mac_header and V.verify_signature(ds, r), name
        else:
            sup = keys.parties[cmd.originator]
            assert r.mac_header and V.verify_mac(r, sup.priv["ka"], ka), name
        comps = gbz.parse(bytes(r.content)).components
        if name in ("gcs39", "gcs32"):
            assert bytes(r.content) == _rtds_content(FILES["gcs39" if name == "gcs39" else "gcs32"].replace(
                "_ERROR", "_SUCCESS")), name
        elif name == "cs01b":
            assert comps[0].payload[0] == 0 and gbz.le(comps[0].payload, 1, 4) == 1250000, comps
        elif name == "gcs13a":
            assert comps[0].encrypted
            pt = gsme_rtds.plaintext(keys, GSME, r, comps[0])
            assert [a for a, _, _, _ in gbzinfo.attribute_records(pt)] == [0x0302, 0x0301, 0x0300, 0x0000]
    end = lines[-1]
    assert end[0] == "END" and end[2] == "0", end
    return int(end[1])


def working_set(tree, tmp, keys, cmds, lo=0, hi=96 * 1024, step=512, sequence=SEQUENCE):
    """Smallest free heap (bytes, within step) with which the GSME sequence still passes once its
    code is loaded (ballast runs at a 512K heap, bisection)."""
    best = None
    while hi - lo > step:
        mid = (lo + hi) // 2
        res = run(tree, provision(os.path.join(tmp, "ws%d" % mid), keys), cmds, "512K", sequence=sequence,
                  warm=provision(os.path.join(tmp, "wsw%d" % mid), keys), spare=mid)
        try:
            check(res, keys, cmds, sequence)
            hi = mid
            best = res["spare"][0] if res["spare"] else mid
        except AssertionError:
            lo = mid
    return best
