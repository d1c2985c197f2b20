"""Run the shared-logic tests (tests/unit/test_*.py) under the MicroPython unix port.

Each module runs in its own `micropython -X heapsize=…` process (default 96K, the heap of an ESP32
without PSRAM), so a memory regression fails the run. A module may ask for a different heap with a
line `MP_HEAPSIZE = "256K"` (used only for vector-file loaders, never for device code paths).
Prints one line per test and ends with `micropython: N passed, N failed, N skipped`; exits 1 on any
failure, crash or timeout.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def micropython_bin():
    cand = os.path.join(os.path.dirname(sys.executable), "micropython")
    return cand if os.path.exists(cand) else "micropython"


def run_module(path, heap, timeout, only=None):
    name = os.path.splitext(os.path.basename(path))[0]
    with open(path) as f:
        m = re.search(r'^MP_HEAPSIZE\s*=\s*"(\w+)"', f.read(), re.M)
    if m:
        heap = m.group(1)
    cmd = [micropython_bin(), "-X", "heapsize=" + heap, os.path.join(HERE, "mp_harness.py"), ROOT, name]
    if only:
        cmd.append(only)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        out = p.stdout + p.stderr
        rc = p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + "\nTIMEOUT after %ss" % timeout
        rc = -1
    dt = time.monotonic() - t0
    m = re.search(r"^@@RESULT (\d+) (\d+) (\d+) (\d+)", out, re.M)
    if not m or rc != 0:
        return name, heap, 0, 1, 0, 0, dt, out
    p_, f_, s_, peak = (int(x) for x in m.groups())
    return name, heap, p_, f_, s_, peak, dt, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=[os.path.join(ROOT, "tests", "unit")])
    ap.add_argument("--heap", default="96K")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("-k", dest="only", help="run only the test function with this name")
    ap.add_argument("-v", action="store_true", help="print every test line")
    args = ap.parse_args()
    files = []
    for p in args.paths:
        files += sorted(glob.glob(os.path.join(p, "test_*.py"))) if os.path.isdir(p) else [p]
    tot_p = tot_f = tot_s = 0
    for path in files:
        name, heap, p_, f_, s_, peak, dt, out = run_module(path, args.heap, args.timeout, args.only)
        tot_p, tot_f, tot_s = tot_p + p_, tot_f + f_, tot_s + s_
        status = "FAILED" if f_ else "ok"
        print("%-34s heap=%-5s %3d passed %2d failed %2d skipped  peak %6d B  %6.2fs  %s"
              % (name, heap, p_, f_, s_, peak, dt, status))
        for line in out.splitlines():
            if args.v or f_ or line.startswith(("FAIL", "SKIP", "Traceback", "  File", "TIMEOUT")):
                if not line.startswith("@@RESULT") and (args.v or f_ or not line.startswith("ok ")):
                    print("    " + line)
    print("micropython: %d passed, %d failed, %d skipped" % (tot_p, tot_f, tot_s))
    return 1 if tot_f else 0


if __name__ == "__main__":
    sys.exit(main())
