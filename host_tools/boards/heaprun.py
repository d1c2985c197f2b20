"""Run the ESME's GBCS pipeline as deployed inside `micropython -X heapsize=N` and check every answer
on the host: the proof behind "the whole pipeline runs under 96K" (docs/board-memory.md).

    tree = build_tree(tmp)                        # .mpy modules + data files, as `smlab build`
    store = provision(tmp)                        # the own-fixture ESME 02534D4C01010001
    res = run(tree, store, "96K")                 # boot + the whole use-case sequence
    check(res)                                    # host verifies every response independently

The device applies the firmware's GC policy (firmware/gcpolicy.py) as the application does at boot.
The device process sees only the deployed tree (cwd = tree, relative import paths, as on a board)
and the provisioned store; nothing is imported from the source tree, so the bytecode of every
module the pipeline touches is on the heap being measured. The sequence (SEQUENCE) is boot, then
ECS42 (signed response), ECS45 (MAC'd response, byte-exact), ECS43, ECS44 + button, ECS03 (long
content, signed), a command to undefined objects (DLMS errors), a command for another EUI, a critical
command without signature, a replay, then a reboot and another replay. The store is provisioned
as `smlab provision` leaves it (static ECDH secrets and the DS anchors' comb table files prepared);
provision(tables=False) leaves the table build to the first critical command. Responses are
checked here with `cryptography` (host_tools.gbcs.verify), not with the firmware crypto.
"""
import json
import os
import subprocess

from host_tools.boards import build as B

from host_tools.util import ROOT
VEC = os.path.join(ROOT, "tests", "vectors", "gbcs")

# (fixture, expected outcome): "ok" = a response, else the Reject reason
SEQUENCE = (
    ("cmd_ecs42", "ok"), ("cmd_ecs45", "ok"), ("cmd_ecs43", "ok"), ("cmd_ecs44", "ok"),
    ("button", "ok"), ("cmd_ecs03", "ok"), ("cmd_unknown", "ok"), ("cmd_other_eui", "target"),
    ("cmd_ecs42_unsigned", "signature-missing"), ("cmd_ecs43", "replay"), ("reboot", "ok"),
    ("cmd_ecs03", "replay"),
)

# Kept small: this script's own bytecode and names are on the measured heap too.
DEVICE = r'''
import sys, gc
sys.path[0] = ""  # import by relative paths, as a board does (not the script's absolute directory)
from firmware import gcpolicy
gcpolicy.apply()  # as firmware/app.py does at boot
from binascii import unhexlify as u, hexlify as h
from firmware.alerts import Reject
from firmware.store.durable import Store
from firmware.roles.esme import Esme
V = sys.argv[2]
clk = u(sys.argv[3])
def boot(p):
    return Esme(Store(p), clock=lambda: clk, table_dir=p)
def seq(p, out):
    e = boot(p)
    for name in sys.argv[4].split(","):
        if name == "button":
            out("R", name, e.model.button_press() and e.model.supply)
        elif name == "reboot":
            e = None
            gc.collect()
            e = boot(p)
            out("R", name, e.model.supply)
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
if len(sys.argv) > 5:  # working set: warm up on another store (all code loaded), then ballast
    seq(sys.argv[5], lambda *a: None)
    gc.collect()
    for n in (4096, 1024, 256, 64, 16):
        while gc.mem_free() > int(sys.argv[6]) + n + 32:
            try:
                b = [b, bytearray(n)]
            except MemoryError:
                break
    print("SPARE", gc.mem_free())
e = seq(sys.argv[1], print)
print("END", gc.mem_free(), e.model.supply, e.model.payment_mode)
'''


def build_tree(out, target="host"):
    """The deployed form: every firmware/board module as .mpy plus data files, into out/."""
    B.build(target, out)
    with open(os.path.join(out, "device_run.py"), "w") as f:
        f.write(DEVICE)
    return out


def source_tree(out):
    """The same run from source modules (compiled on the heap at import) for comparison."""
    os.makedirs(out, exist_ok=True)
    link = os.path.join(out, "firmware")
    if not os.path.exists(link):
        os.symlink(os.path.join(ROOT, "firmware"), link)
    with open(os.path.join(out, "device_run.py"), "w") as f:
        f.write(DEVICE)
    return out


def keys():
    with open(os.path.join(VEC, "own_keys.json")) as f:
        return json.load(f)


def vec(name):
    with open(os.path.join(VEC, name + ".hex")) as f:
        return bytes.fromhex(f.read().strip())


def provision(root, tables=True):
    """A factory-provisioned ESME store (keys and cells of tests/vectors/gbcs/own_keys.json, static
    ECDH secrets precomputed and, with tables, the DS anchors' comb table files built as
    `smlab provision` does), written with the firmware's own store and factory code. Without
    tables the device's first critical command builds the table file itself."""
    from firmware.core import provision as factory, trust
    from firmware.store.durable import Store

    k = keys()
    st = Store(root)
    factory.provision(st, bytes.fromhex(k["device"]), bytes.fromhex(k["device_ka"]),
                      bytes.fromhex(k["device_ds"]), [trust.Cell.from_json(c) for c in k["cells"]])
    factory.precompute(st, root if tables else None)
    return root


def run(tree, store, heap, timeout=120, sequence=SEQUENCE, warm=None, spare=0):
    """Run the sequence on the device at -X heapsize=heap; returns a dict: rc, lines, out.
    With warm (a second provisioned store) the sequence first runs there, so all code is loaded
    and the caches are warm, then the heap is filled with ballast down to `spare` free bytes before
    the measured run: the working memory the sequence needs on top of its code (what a board with
    the firmware frozen into flash needs)."""
    names = ",".join(n for n, _ in sequence)
    cmd = [B.venv_bin("micropython"), "-X", "heapsize=" + heap, "device_run.py", os.path.abspath(store), VEC,
           keys()["clock"], names]
    if warm:
        cmd += [os.path.abspath(warm), str(spare)]
    p = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, timeout=timeout)
    out = p.stdout + p.stderr
    return {"rc": p.returncode, "out": out,
            "lines": [ln.split(" ") for ln in p.stdout.splitlines() if ln[:2] in ("R ", "X ", "EN")],
            "spare": [int(ln.split()[1]) for ln in p.stdout.splitlines() if ln.startswith("SPARE ")]}


def working_set(tree, tmp, lo=0, hi=64 * 1024, step=512):
    """Smallest free heap (bytes, within step) with which the whole sequence still passes once the
    code is loaded: bisection over ballast runs at a 512K heap."""
    best = None
    while hi - lo > step:
        mid = (lo + hi) // 2
        res = run(tree, provision(os.path.join(tmp, "ws%d" % mid)), "512K",
                  warm=provision(os.path.join(tmp, "wsw%d" % mid)), spare=mid)
        try:
            check(res)
            hi = mid
            best = res["spare"][0] if res["spare"] else mid
        except AssertionError:
            lo = mid
    return best


def check(res, sequence=SEQUENCE):
    """Raise AssertionError unless every step gave its expected outcome and every response verifies
    on the host; returns the free heap the device reported at the end."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from host_tools.gbcs import verify as V
    from firmware.gbcs import dlms_client, frame

    assert res["rc"] == 0, res["out"][-800:]
    lines = res["lines"]
    assert len(lines) == len(sequence) + 1, res["out"][-800:]
    k = keys()
    dev, sup = bytes.fromhex(k["device"]), bytes.fromhex(k["supplier"])
    ds_pub = bytes.fromhex(k["device_ds_pub"])
    dev_ka_pub = bytes.fromhex(k["device_ka_pub"])
    sup_ka = ec.derive_private_key(int(k["supplier_ka"], 16), ec.SECP256R1())
    for (name, want), ln in zip(sequence, lines):
        assert ln[1] == name, (name, ln)
        if want != "ok":
            assert ln[0] == "X" and ln[2] == want, (name, ln)
            continue
        assert ln[0] == "R", (name, ln)
        if name in ("button", "reboot"):
            assert ln[2] == "connected", (name, ln)
            continue
        cmd = frame.parse(vec(name))
        r = frame.parse(bytes.fromhex(ln[2]))
        assert r.cra == frame.CRA_RESPONSE and r.counter == cmd.counter, name
        assert r.originator == dev and r.recipient == sup, name
        inv, data, results = dlms_client.parse_response(r.content)
        if cmd.signature:
            assert not r.mac_header and V.verify_signature(ds_pub, r), name
            assert all(code == 0 for _, code in results), (name, results)
        else:
            assert r.mac_header and r.mac == V.mac_for(r, sup_ka, dev_ka_pub, 2), name
        if name == "cmd_ecs45":
            assert bytes.fromhex(ln[2]) == vec("resp_ecs45")
        if name == "cmd_unknown":
            assert [code for _, code in results] == [4, 13], results  # undefined, scope violated
    end = lines[-1]
    assert end[0] == "END" and end[2:] == ["connected", "prepayment"], end
    return int(end[1])
