"""Fuzz the HAN stacks: >= 100,000 random and mutated 802.15.4 frames at the Comms Hub and at a
meter (firmware/han/hub.py, device.py), in one process with the real stacks (docs/han.md §11).

Runs tests/unit/test_han_fuzz.py's campaign under the MicroPython unix port (the devices'
interpreter; --cpython for CPython): a genuine join captured, then frames mutated from it (most
with a recomputed FCS so they reach NWK / APS / ZCL) and random frames, alternately to the hub
and to the joined meter; the state of both (Device Log, keys, incoming frame counters, join
record) is compared every 1,000 frames. Exit status 1 on any crash or state change.
Usage: .venv/bin/python bench/bench_han_fuzz.py [frames (default 100000)] [seed] [--cpython]
"""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(os.path.dirname(sys.executable), "micropython")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100000
    seed = int(args[1]) if len(args) > 1 else 0x5EED
    code = ("import sys\nsys.path.insert(0, %r)\nsys.path.insert(0, %r)\n"
            "import test_han_fuzz as t\nt.main(%d, %d)\n"
            % (os.path.join(ROOT, "tests", "unit"), ROOT, n, seed))
    cmd = ([sys.executable, "-c", code] if "--cpython" in sys.argv
           else [MP, "-X", "heapsize=1M", "-c", code])
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=7200)
    dt = time.monotonic() - t0
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr[-4000:])
    m = re.search(r"@@HAN_FUZZ frames=(\d+) hub_dropped=(\d+) meter_dropped=(\d+) "
                  r"refusals_alerted=(\d+)", p.stdout)
    if p.returncode != 0 or not m:
        print("bench_han_fuzz: FAILED (rc %d): a crash or a state change (see above)" % p.returncode)
        return 1
    frames, hd, md, ref = (int(x) for x in m.groups())
    print("bench_han_fuzz: %d frames (%s), hub refused %d, meter refused %d, fuzzed joiners "
          "refused+alerted %d, crashes 0, state changes 0, joins 0, %.1f s"
          % (frames, "CPython" if "--cpython" in sys.argv else "MicroPython", hd, md, ref, dt))
    return 0 if frames >= 100000 else 1


if __name__ == "__main__":
    sys.exit(main())
