"""Run the Comms Hub Function with a full Device Log inside `micropython -X heapsize=N` as deployed
(.mpy) and check every answer on the host: the hub's memory figures in docs/board-memory.md.

    tree = heaprun.build_tree(tmp)              # .mpy modules, as `smlab build` deploys them
    store = provision(tmp, keys)                # the RTDS CHF (bench Z), Device Log 16 + historic 15
    res = run(tree, store, "96K")               # boot + the hub sequence
    check(res, keys)                            # the host verifies every response and alert

The store is the RTDS CHF 00DB1234567890A2 as host_tools/gbcs/chf_rtds.py provisions it, with the
Device Log full (16 devices with TC link keys and radio statistics), the Historic Device Log full
(15) and 64-entry hub logs. The sequence (SEQUENCE): boot, CCS06 (read the 16 active devices),
CCS07 (back up both logs), CCS02 (remove a device: its key to the historic log, the oldest
overwritten, CS14 queued), CCS01 (add it again: CS14), an unknown joiner (refused, logged,
alerted), the pending alerts built as MAC'd GBCS messages, a reboot, a replay (refused). Responses
are checked with `cryptography` (host_tools.gbcs.verify) against the ACB's published KA key.
Needs ../shared (the RTDS corpus and keystore).
"""
import os
import subprocess

from host_tools.boards import build as B
from host_tools.gbcs import corpus as C

CHF = bytes.fromhex("00db1234567890a2")
FOLDERS = {"ccs06": "8.9_CCS06/CCS06_8.9_SUCCESS", "ccs07": "8.9_CCS07/CCS07_8.9_ERROR",
           "ccs02": "8.11_CCS02/CCS02_8.11_SUCCESS", "ccs01": "8.11_CCS01/CCS01_8.11_ERROR"}
SEQUENCE = (("ccs06", "ok"), ("ccs07", "ok"), ("ccs02", "ok"), ("ccs01", "ok"), ("unknown", "ok"),
            ("alerts", "ok"), ("reboot", "ok"), ("ccs06", "replay"))
FULL = 16
HIST = 15

DEVICE = r'''
import sys, gc
sys.path[0] = ""
from firmware import gcpolicy
gcpolicy.apply()
from binascii import unhexlify as u, hexlify as h
from firmware.alerts import Reject
from firmware.store.durable import Store
from firmware.roles.chf import Chf
V = sys.argv[2]
def boot(p):
    return Chf(Store(p), lambda: 1420070400)
def seq(p, out):
    e = boot(p)
    for name in sys.argv[3].split(","):
        if name == "reboot":
            e = None
            gc.collect()
            e = boot(p)
            out("R", name, len(e.devlog.euis()))
        elif name == "unknown":
            out("R", name, e.may_join(b"\x00\x11\x22\x33\x44\x55\x66\x77")[0])
        elif name == "alerts":
            for a in e.alerts():
                out("A", name, h(a).decode())
            out("R", name, len(e.devlog.pending()))
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
print("END", gc.mem_free(), len(e.devlog.euis()), len(e.devlog.historic()))
'''


def build_tree(out):
    """The deployed .mpy tree with this module's device script."""
    B.build("host", out)
    with open(os.path.join(out, "hub_run.py"), "w") as f:
        f.write(DEVICE)
    return out


def commands(out):
    """The RTDS commands of SEQUENCE as hex files in out/ (returned)."""
    os.makedirs(out, exist_ok=True)
    for name, path in FOLDERS.items():
        with open(os.path.join(C.RTDS, path + "_COMMAND_GBCS.HEX")) as f, \
                open(os.path.join(out, name + ".hex"), "w") as g:
            g.write(f.read().strip())
    return out


def device_eui(n):
    return bytes((0x00, 0xDB, 0x12, 0x34, 0x56, 0x78, 0x91, n))


def provision(root, keys):
    """The RTDS CHF store with a full Device Log (the RTDS ESME A0 first, then 15 more devices,
    each with a TC link key and radio statistics), a full Historic Device Log and full hub logs."""
    from firmware.store.durable import Store
    from firmware.hub import devicelog as D, logs as L
    from host_tools.gbcs import chf_rtds

    st = Store(root)
    chf_rtds.ChfRole().provision_store(st, keys)
    dl = D.DeviceLog(st)
    devs = [bytes.fromhex("00db1234567890a0")] + [device_eui(i) for i in range(FULL - 1)]
    stats = bytes.fromhex("020d0408c80fdd0fce0f9c1102112711f7090c07de0c1f03173200008000ff11011100116411011101")
    for i, e in enumerate(devs):
        dl.add(e, bytes(range(16)), 90, True, 1420070400)
        dl.joined(e, bytes(((i * 17 + j) & 0xFF for j in range(16))), 1420070400)
        dl.set_stats(e, stats)
    for i in range(HIST):
        dl.put_historic(device_eui(0x80 + i), bytes(((i * 5 + j) & 0xFF for j in range(16))))
    dl.delivered(len(dl.pending()))
    for i in range(L.SIZE):
        L.append(st, L.SECURITY, 473299200 + i, 0x8154, b"\x00\x9b")
        L.append(st, L.EVENT, 473299200 + i, 0x8F12)
    return root


def run(tree, store, cmds, heap, timeout=120, sequence=SEQUENCE, warm=None, spare=0):
    names = ",".join(n for n, _ in sequence)
    cmd = [B.venv_bin("micropython"), "-X", "heapsize=" + heap, "hub_run.py", os.path.abspath(store),
           os.path.abspath(cmds), names]
    if warm:
        cmd += [os.path.abspath(warm), str(spare)]
    p = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, timeout=timeout)
    out = p.stdout + p.stderr
    return {"rc": p.returncode, "out": out,
            "lines": [ln.split(" ") for ln in p.stdout.splitlines() if ln[:2] in ("R ", "X ", "A ", "EN")],
            "spare": [int(ln.split()[1]) for ln in p.stdout.splitlines() if ln.startswith("SPARE ")]}


def check(res, keys, cmds):
    """AssertionError unless every step gave its outcome and every response and alert verifies on
    the host (MAC with the ACB's KA private key x the CHF's KA certificate); returns the free heap
    the device reported at the end."""
    from firmware.gbcs import dlms, dlms_client, frame
    from host_tools.gbcs import verify as V

    assert res["rc"] == 0, res["out"][-800:]
    acb = next(p for p in keys.parties.values() if p.role == 4)
    ka = keys.device_pub(CHF, "ka")
    lines = [ln for ln in res["lines"] if ln[0] != "A"]
    alerts = [ln for ln in res["lines"] if ln[0] == "A"]
    assert len(lines) == len(SEQUENCE) + 1, res["out"][-800:]
    for (name, want), ln in zip(SEQUENCE, lines):
        assert ln[1] == name, (name, ln)
        if want != "ok":
            assert ln[0] == "X" and ln[2] == want, (name, ln)
            continue
        assert ln[0] == "R", (name, ln)
        if name == "reboot":
            assert int(ln[2]) == FULL, ln
        elif name == "unknown":
            assert int(ln[2]) == 0, ln  # REFUSED_UNKNOWN
        elif name == "alerts":
            assert int(ln[2]) == 3, ln  # CS14 (remove), CS14 (add), 8F48 (unknown joiner)
        else:
            with open(os.path.join(cmds, name + ".hex")) as f:
                cmd = frame.parse(bytes.fromhex(f.read().strip()))
            r = frame.parse(bytes.fromhex(ln[2]))
            assert r.cra == frame.CRA_RESPONSE and r.counter == cmd.counter and r.originator == CHF, name
            assert r.mac_header and V.verify_mac(r, acb.priv["ka"], ka), name
            _, data, results = dlms_client.parse_response(r.content)
            assert all(code == 0 for _, code in results), (name, results)
            if name == "ccs06":
                assert len(data[0][1]) == FULL
    assert len(alerts) == 3
    for ln in alerts:
        a = frame.parse(bytes.fromhex(ln[2]))
        assert a.cra == frame.CRA_ALERT and a.originator == CHF and V.verify_mac(a, acb.priv["ka"], ka)
    body = dlms.decode(frame.parse(bytes.fromhex(alerts[1][2])).content[6:])
    assert body[1][0][1] == 0x8F12 and len(body[1][2][1][2][1]) == FULL
    end = lines[-1]
    assert end[0] == "END" and int(end[2]) == FULL and int(end[3]) == HIST, end
    return int(end[1])


def working_set(tree, tmp, keys, cmds, lo=0, hi=96 * 1024, step=512):
    """Smallest free heap (bytes, within step) with which the hub sequence still passes once its
    code is loaded (ballast runs at a 512K heap, bisection)."""
    best = None
    while hi - lo > step:
        mid = (lo + hi) // 2
        res = run(tree, provision(os.path.join(tmp, "ws%d" % mid), keys), cmds, "512K",
                  warm=provision(os.path.join(tmp, "wsw%d" % mid), keys), spare=mid)
        try:
            check(res, keys, cmds)
            hi = mid
            best = res["spare"][0] if res["spare"] else mid
        except AssertionError:
            lo = mid
    return best
