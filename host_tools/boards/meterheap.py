"""The whole meter's working memory, measured as deployed (.mpy) inside `micropython -X heapsize=N`
(docs/board-memory.md "Whole meter: metering and prepayment").

The device runs the real application (firmware/app.py: ESME role with its GBCS gate, UTRN acceptor,
metering engine with its live COSEM attributes, front panel with optical port and menu) on a
detached unix board (the qstr pool grown first, as the virtual board's ROM does) over a store provisioned like `smlab provision` (bench PKI), then a prepayment
day in meter time: a UTRN top-up, a 4 kW load accounted every 15 minutes for 24 hours (96 store
writes, 48 profile entries, a daily snapshot), low credit, interruption, emergency credit at the
keypad ('B'), the button ('A'), a second top-up, re-arm, the button; the public readout and the live
COSEM attributes read at the end.

    tree = heaprun.build_tree(tmp)                 # .mpy as `smlab build` deploys it
    stores = provision(tmp)                        # (store, warm-up store, [UTRN codes])
    res = run(tree, stores, "1M", spare=None)      # plain run; with spare: ballast method
    check(res)
    working_set(tree, tmp)                         # smallest free heap the day needs, code loaded

Ballast method (as host_tools/boards/heaprun.py): the day first runs on a second copy of the store,
so every module is loaded and caches are warm; the heap is then filled with ballast down to `spare`
free bytes and the day runs again on the first store. The smallest `spare` that passes is the
working memory: what a board with the firmware frozen into flash needs besides its code.
"""
import os
import shutil
import subprocess

from host_tools.boards import build as B

T0 = 1772409600  # 2026-03-02 00:00 UTC

DEVICE = r'''
import sys, gc
sys.path[0] = ""
import os
o = object()  # the virtual board ROM's qstr pool growth on a clean heap (board/unix_boot.py)
g = 0
last = gc.mem_alloc()
for i in range(0 if os.getenv("METER_FROZEN") else 4000):
    getattr(o, "_q%d" % i, None)
    if gc.mem_alloc() - last > 10000:
        g += 1
        if g == 2:
            break
    last = gc.mem_alloc()
o = None
from board import unix
from firmware import app as A
EUI = bytes.fromhex(sys.argv[2])
CODES = sys.argv[3].split(",")
T0 = int(sys.argv[4])
def day(root, out):
    b = unix.Board(root)
    b.eui64 = lambda: EUI
    b.simulate({"clock": {"t0": T0, "at": 0, "rate": 0}, "load": {"w": 4000}})
    a = A.App(b)
    role = a.role
    e = role.meter
    m = role.model
    m.set_payment_mode("prepayment")
    e.configure(low=400, ec=200, ect=300, dis=100, step=900)
    out("topup", role.acceptor.accept(CODES[0], now=T0)["amount"])
    t = T0
    seen = []
    for i in range(96):
        t += 900
        b.set_time(t)
        a.poll()
        if m.supply not in seen:
            seen.append(m.supply)
        if m.supply == "disconnected" and e.r["ec"] == 1:
            a.panel.key("B")
            a.poll()
            a.panel.key("A")
            out("ec", m.supply)
        if i == 60:
            out("topup2", role.acceptor.accept(CODES[1], now=t)["amount"])
            a.poll()
            a.panel.key("A")
    n = 0
    for ln in a.panel.view.readout_lines():
        n += len(ln)
    from firmware.meter import objects
    o = objects.of(role)
    v = o.get(3, b"\x01\x00\x01\x08\x00\xff", 2)
    out("day", e.r["ai"], e.charged(), m.supply, "/".join(seen), len(e.alerts()), len(e.profile()),
        n, v[0] if v else None)
    return a
if len(sys.argv) > 5:
    w = day(sys.argv[5], lambda *x: None)
    w = None
    gc.collect()
    b = None
    for n in (4096, 1024, 256, 64, 16):
        while gc.mem_free() > int(sys.argv[6]) + n + 32:
            try:
                b = [b, bytearray(n)]
            except MemoryError:
                break
    print("SPARE", gc.mem_free())
a = day(sys.argv[1], lambda *x: print("R", *x))
gc.collect()
print("END", gc.mem_free(), gc.mem_alloc())
'''


def build_tree(out):
    B.build("host", out)
    with open(os.path.join(out, "meter_day.py"), "w") as f:
        f.write(DEVICE)
    return out


def provision(tmp):
    """(store root, warm-up store root, UTRN codes, device EUI hex): an ESME provisioned from a
    bench PKI (host_tools/keys), two £8 / £10 top-ups for it."""
    from firmware import app as A
    from firmware import provisioning
    from firmware.store.durable import Store
    from host_tools.codes import utrn as U
    from host_tools.keys import pki, provision as P

    ks = os.path.join(tmp, "pki")
    if not os.path.isdir(ks):
        pki.create_bench_pki(ks, (("esme", 1),))
    eui = pki.bench_device_eui("esme", 1)
    root = os.path.join(tmp, "store")
    os.makedirs(root)
    vk = root + A.VK_DIR
    A.ensure_dir(vk)
    provisioning.apply(Store(root), P.payload(ks, eui), eui, vk)
    warm = os.path.join(tmp, "warm")
    shutil.copytree(root, warm)
    z, sup = U.supplier_secret(ks, eui, None)
    codes = []
    for pennies in (800, 1000):
        c = U.next_counter(ks, sup, eui, None)
        codes.append(U.topup(z, sup, eui, c, pennies))
    return root, warm, codes, eui.hex()


def run(tree, stores, heap, spare=None, timeout=300, frozen=False):
    """frozen: skip the ROM's qstr pool growth (a frozen build keeps its names in flash)."""
    root, warm, codes, eui = stores
    cmd = [B.venv_bin("micropython"), "-X", "heapsize=" + heap, "meter_day.py", os.path.abspath(root), eui,
           ",".join(codes), str(T0)]
    if spare is not None:
        cmd += [os.path.abspath(warm), str(spare)]
    env = dict(os.environ)
    if frozen:
        env["METER_FROZEN"] = "1"
    p = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, timeout=timeout, env=env)
    lines = p.stdout.splitlines()
    return {"rc": p.returncode, "out": p.stdout + p.stderr,
            "lines": [ln.split(" ")[1:] for ln in lines if ln.startswith("R ")],
            "spare": [int(ln.split()[1]) for ln in lines if ln.startswith("SPARE ")],
            "end": [[int(x) for x in ln.split()[1:]] for ln in lines if ln.startswith("END ")]}


def check(res):
    """The day ran whole: both top-ups, emergency credit taken, the supply interrupted and restored,
    energy counted and charged, alerts queued, the profile and readout written."""
    assert res["rc"] == 0 and res["end"], res["out"][-1500:]
    d = dict((ln[0], ln[1:]) for ln in res["lines"])
    assert d["topup"] == ["800"] and d["topup2"] == ["1000"], d
    assert "ec" in d, d
    ai, charged, supply, seen, alerts, prof = d["day"][:6]
    assert int(ai) > 60000 and int(charged) > 1500, d["day"]
    assert "disconnected" in seen.split("/") and supply == "connected", d["day"]
    assert int(alerts) >= 4 and int(prof) == 48, d["day"]
    return res["end"][0]


def working_set(tree, tmp, lo=0, hi=160 * 1024, step=1024, heap="1M"):
    """Smallest free heap (bytes, within step) with which the whole day still passes once the code
    is loaded (bisection over ballast runs; names interned as a frozen build has them, no pool
    growth reserved ahead)."""
    best = None
    i = 0
    while hi - lo > step:
        mid = (lo + hi) // 2
        i += 1
        res = run(tree, provision(os.path.join(tmp, "ws%d" % i)), heap, spare=mid, frozen=True)
        try:
            check(res)
            hi = mid
            best = res["spare"][0] if res["spare"] else mid
        except (AssertionError, KeyError, ValueError):
            lo = mid
    return best
