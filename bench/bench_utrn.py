"""UTRN benchmarks on the MicroPython unix port: acceptance speed and brute force (GBCS §14;
shared/reference/gbcs.md §9).

1. Speed: median time of one UTRN acceptance (KDF + GMAC + replay check + persist the state record,
   the ECDH secret Z cached) through Acceptor.accept, with the store on littlefs2 over the simulated
   NOR flash (device-like) and on a plain directory; plus the authentication step alone.
   Target <= 5 ms median (littlefs2).
2. Brute force: 10,000 random 20-digit entries at the keypad path (one every 10 s of device time),
   default lockout (5 failures in 10 min -> 1 h): accepted must be 0; prints lockouts engaged and
   entries refused as locked out. Then 10,000 random format-valid codes (right check digit, class
   00/01, counter in the window) straight into the authentication step: passed must be 0.
Usage: .venv/bin/python bench/bench_utrn.py [n_speed (default 200)]
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(os.path.dirname(sys.executable), "micropython")

MP_CODE = r"""
import sys, os, time, json, gc
sys.path.insert(0, ROOT); sys.path.insert(0, ROOT + "/tests/unit")
import vfs
from board.flash import NorFlash
from firmware.store.durable import Store
from firmware.meter.model import MeterModel
from firmware.utrn.accept import Acceptor
from firmware.utrn import codec, mac
from firmware.alerts import Reject, UTRN_LOCKED_OUT
from binascii import unhexlify as U

v = json.load(open(ROOT + "/tests/vectors/utrn/own_keys.json"))
Z, S, D = U(v["z"]), U(v["supplier_eui"]), U(v["device_eui"])

def code(c, vclass, value):
    hi = ((c & 0x3FF) << 15) | (vclass << 13) | value
    return codec.encode(c & 0x3FF, vclass, value, mac.tag4(Z, S, D, c, hi.to_bytes(4, "big")))

def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]

def speed(root, n, label):
    st = Store(root)
    st.boot()
    a = Acceptor(st, D, S, Z, MeterModel(st), lambda: 1700000000)
    a.configure(max_balance=1 << 30)
    codes = [code(c, 0, 1) for c in range(1, n + 1)]
    t_acc = []
    t_auth = []
    for u in codes:
        gc.collect()
        t0 = time.ticks_us()
        a.authenticate(u)
        t1 = time.ticks_us()
        a.accept(u)
        t2 = time.ticks_us()
        t_auth.append(time.ticks_diff(t1, t0))
        t_acc.append(time.ticks_diff(t2, t1))
    assert a.balance == n
    print("@@SPEED %s n=%d accept_median_us=%d accept_max_us=%d auth_median_us=%d"
          % (label, n, median(t_acc), max(t_acc), median(t_auth)))

N = NSPEED
img = bytearray(4096 * 64)
img[:] = b"\xff" * len(img)
vfs.VfsLfs2.mkfs(NorFlash(img, 4096))
vfs.mount(vfs.VfsLfs2(NorFlash(img, 4096)), "/flash")
speed("/flash/state", N, "littlefs2-nor")
vfs.umount("/flash")
from binascii import hexlify
d = "/tmp/smlab-bench-utrn-" + hexlify(os.urandom(4)).decode()
os.mkdir(d)
speed(d + "/state", N, "posix-dir")

# brute force at the keypad path
st = Store(d + "/bf")
st.boot()
clock = [1700000000]
a = Acceptor(st, D, S, Z, MeterModel(st), lambda: clock[0])
seed = 20261123
acc = locked = failed = started = 0
t0 = time.ticks_ms()
for i in range(10000):
    seed = (seed * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    u = "%020d" % (seed % 100000000000000000000)
    try:
        a.accept(u)
        acc += 1
    except Reject as e:
        if e.code == UTRN_LOCKED_OUT:
            locked += 1
        else:
            failed += 1
            if getattr(e, "events", None):
                started += 1
    clock[0] += 10
dt = time.ticks_diff(time.ticks_ms(), t0)
print("@@BRUTE keypad entries=10000 accepted=%d failed_checks=%d lockouts=%d locked_out=%d balance=%d ms=%d"
      % (acc, failed, started, locked, a.balance, dt))

# fast path: format-valid codes straight into authentication
passed = 0
t0 = time.ticks_ms()
for i in range(10000):
    seed = (seed * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    m = ((seed >> 20) & 0xFFFFFFFF).to_bytes(4, "big")
    u = codec.encode(seed & 0x1FF, (seed >> 10) & 1, (seed >> 11) & 0x1FFF, m)
    try:
        a.authenticate(u)
        passed += 1
    except Reject:
        pass
dt = time.ticks_diff(time.ticks_ms(), t0)
print("@@BRUTE fastpath entries=10000 passed=%d ms=%d" % (passed, dt))

import _t
_t.rmtree(d)
"""


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    code = MP_CODE.replace("ROOT", repr(ROOT)).replace("NSPEED", str(n))
    p = subprocess.run([MP, "-X", "heapsize=2M", "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=1800)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    speed = dict((m.group(1), (int(m.group(2)), int(m.group(3)), int(m.group(4)))) for m in re.finditer(
        r"@@SPEED (\S+) n=\d+ accept_median_us=(\d+) accept_max_us=(\d+) auth_median_us=(\d+)", p.stdout))
    bf = re.search(r"@@BRUTE keypad entries=10000 accepted=(\d+) failed_checks=(\d+) lockouts=(\d+) "
                   r"locked_out=(\d+)", p.stdout)
    fp = re.search(r"@@BRUTE fastpath entries=10000 passed=(\d+)", p.stdout)
    if p.returncode or "littlefs2-nor" not in speed or not bf or not fp:
        print("bench_utrn: did not finish (rc %d)" % p.returncode)
        return 1
    med, mx, auth = speed["littlefs2-nor"]
    print("bench_utrn: acceptance median %.2f ms on littlefs2/NOR (max %.2f ms; authentication alone "
          "%.2f ms; plain directory %.2f ms); target <= 5 ms: %s"
          % (med / 1000, mx / 1000, auth / 1000, speed["posix-dir"][0] / 1000, "met" if med <= 5000 else "MISSED"))
    acc, failed, lockouts, locked = (int(x) for x in bf.groups())
    print("bench_utrn: brute force 10,000 keypad entries: accepted %d, failed checks %d, lockouts %d, "
          "refused as locked out %d; 10,000 format-valid codes at the MAC: passed %s"
          % (acc, failed, lockouts, locked, fp.group(1)))
    return 0 if med <= 5000 and acc == 0 and fp.group(1) == "0" and lockouts > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
