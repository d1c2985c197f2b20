"""Run a device-side campaign in one MicroPython unix-port process and read its result line.

The power-cut campaigns live beside their tests (tests/unit/test_*_powercut.py, board/unix_powercut.py)
and end by printing one line `@@TAG key=value ...` of integers; the bench scripts run them with a
larger heap and more rounds than `make test` does, echo their output and judge that line.

    r = devicerun.campaign("import test_hub_powercut as t\\nt.main(5, show=50)", "CHF_POWERCUT")
    r -> {"steps": .., "cut_points": .., "violations": .., ..., "seconds": wall time} or None
"""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(os.path.dirname(sys.executable), "micropython")
UNIT = os.path.join(ROOT, "tests", "unit")


def campaign(body, tag, heap="1M", timeout=3600, echo_err=None):
    """Run `body` (MicroPython source; tests/unit and the project root are on sys.path) and return
    the integers of its `@@TAG` line plus "seconds", or None (the reason printed) when the line is
    missing. The process's stdout is echoed, and its stderr (the last `echo_err` characters)."""
    code = "import sys\nsys.path.insert(0, %r)\nsys.path.insert(0, %r)\n%s\n" % (UNIT, ROOT, body)
    t0 = time.monotonic()
    p = subprocess.run([MP, "-X", "heapsize=" + heap, "-c", code], cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout)
    dt = time.monotonic() - t0
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr[-echo_err:] if echo_err else p.stderr)
    m = re.search(r"@@%s((?: \w+=\d+)+)" % re.escape(tag), p.stdout)
    if not m:
        print("%s: campaign did not finish (rc %d)" % (os.path.basename(sys.argv[0]), p.returncode))
        return None
    out = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    out["seconds"] = dt
    return out


def arg(i, default):
    """Integer command-line argument i (1-based), or the default."""
    return int(sys.argv[i]) if len(sys.argv) > i else default
