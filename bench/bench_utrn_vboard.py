"""UTRN top-ups on a virtual board end to end, with real whole-process power cuts (complements
the in-process campaign bench/bench_utrn_powercut.py).

A bench PKI and a virtual board are created in a temporary SMLAB_HOME, the firmware is flashed
(`smlab flash`) and provisioned (`smlab provision`), and the device application (firmware/app.py)
runs from the littlefs2 image. For n = 0, 1, ...: power is armed to fail after n flash writes from
the next boot (host_tools.boards.vboard.VBoard.cut), a fresh top-up UTRN (host_tools/codes/utrn.py, the supplier's
prepayment key x the device's KA key) is typed on the keypad pty, and whether the cut came during boot,
during the acceptance or not at all, the board comes back and the state read from its store must be
"applied" or "not applied" - never a credit without its counter or a counter without its credit;
the code typed again is then refused as a duplicate exactly when it had been applied, and the
balance always equals the acknowledged credits. Prints cut points, cuts that struck, violations.
Usage: .venv/bin/python bench/bench_utrn_vboard.py [max_n (default 16; an acceptance takes about 11 writes)]
"""
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
BIN = os.path.dirname(sys.executable)

from host_tools.keys import pki  # noqa: E402
from host_tools.codes import utrn  # noqa: E402
from host_tools.boards.vboard import VBoard  # noqa: E402

STATE = ("import board\nfrom firmware.utrn.accept import unpack_state\n"
         "b = board.get().store().get('utrn')\n"
         "st = unpack_state(b) if b is not None else {'b': 0, 'c': []}\n"
         "print('@@ST', st['b'], ' '.join(str(x) for x in st['c']))")


def smlab(env, *args):
    p = subprocess.run([os.path.join(BIN, "smlab")] + list(args), capture_output=True, text=True, env=env,
                       timeout=300)
    if p.returncode:
        raise RuntimeError("smlab %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
    return p.stdout


def read_state(vb):
    out = vb.exec(STATE)
    m = re.search(r"@@ST (-?\d+) ?([\d ]*)", out)
    if not m:
        raise RuntimeError("no state: " + out)
    return int(m.group(1)), set(int(x) for x in m.group(2).split())


def type_code(vb, code, n_display, timeout=20):
    """Type `code` + '#' on the keypad; return the new display line, or None when the board died."""
    import serial

    boots = vb.status().get("boots", 0)
    with serial.Serial(vb.keypad, 9600, timeout=1) as kp:
        kp.write(code.encode() + b"#")
        kp.flush()
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        lines = re.findall(r"\[display\] (.*)", vb.console_log())
        if len(lines) > n_display and (lines[-1].startswith("ACCEPTED") or lines[-1].startswith("REJECTED")):
            return lines[-1]
        if vb.status().get("boots", 0) > boots:
            return None
        time.sleep(0.05)
    raise TimeoutError("no answer on the display:\n" + vb.console_log()[-1500:])


def displays(vb):
    return len(re.findall(r"\[display\] ", vb.console_log()))


def main():
    max_n = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    home = tempfile.mkdtemp(prefix="smlab-utrn-vb-")
    env = dict(os.environ, SMLAB_HOME=os.path.join(home, "home"))
    ks = os.path.join(home, "pki")
    smlab(env, "pki", "create", ks)
    smlab(env, "sim", "start", "m")
    vb = VBoard(os.path.join(home, "home", "boards", "m"))
    bad = []
    struck = 0
    try:
        smlab(env, "flash", "sim:m")
        smlab(env, "provision", "sim:m", "--keys", ks, "--reset")
        parties = pki.load_keystore(ks)
        dev = parties[bytes.fromhex("02534d4c01010001")]
        sup = [p for p in parties.values() if p.role == 2 and "pp-ka" in p.private][0]
        z = utrn.ecdh_z(sup.private["pp-ka"], dev.public["ka"])
        acked = 0
        counter = 0
        for n in range(max_n + 1):
            counter += 1
            amount = 100 + n
            code = utrn.topup(z, sup.eui, dev.eui, counter, amount)
            cuts0 = len(vb.power_cuts())
            vb.cut(n)  # armed: the board fails after n writes from this boot
            shown = type_code(vb, code, displays(vb))
            vb.wait_ready(vb.status().get("boots", 1))
            if len(vb.power_cuts()) == cuts0:  # not struck yet (n beyond the acceptance): disarm
                vb.reset()
            else:
                struck += 1
            bal, cache = read_state(vb)
            applied = counter in cache
            if bal != acked + (amount if applied else 0):
                bad.append("n=%d: balance %d, acknowledged %d, counter applied %s" % (n, bal, acked, applied))
            if shown is not None and shown.startswith("ACCEPTED") and not applied:
                bad.append("n=%d: acknowledged %r but not applied" % (n, shown))
            vb.reset()
            again = type_code(vb, code, displays(vb))
            want = "REJECTED 8F51" if applied else "ACCEPTED +"
            if again is None or not again.startswith(want):
                bad.append("n=%d: entered again: %r, expected %s" % (n, again, want))
            acked += amount
            vb.reset()
            bal, cache = read_state(vb)
            if bal != acked or counter not in cache:
                bad.append("n=%d: after re-entry balance %d != %d" % (n, bal, acked))
            print("n=%2d cut %s: first entry %r, applied %s; balance %d" % (
                n, "struck" if len(vb.power_cuts()) > cuts0 else "not reached", shown, applied, bal))
    finally:
        vb.stop()
        import shutil

        shutil.rmtree(home, ignore_errors=True)
    for b in bad[:20]:
        print(b)
    print("bench_utrn_vboard: cut points %d, power cuts that struck %d, violations %d"
          % (max_n + 1, struck, len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
