"""Runs one tests/unit module under the MicroPython unix port (started by tests/mprun.py).

Calls every top-level `test_*` function, prints one line per test and a machine-readable result
line `@@RESULT passed failed skipped peak_heap`.
"""
import gc
import os
import sys

root = sys.argv[1]
name = sys.argv[2]
only = sys.argv[3] if len(sys.argv) > 3 else None
# Relative paths (mprun starts us in the repo root): module __file__ strings and sys.path then cost
# the same heap wherever the checkout lives; absolute paths of a deep clone ate ~3 KB of 96K.
os.chdir(root)
sys.path.insert(0, "tests/unit")
sys.path.insert(0, "")

import _t  # noqa: E402

mod = __import__(name)
passed = failed = skipped = 0
peak = 0
try:
    import micropython

    mem_peak = micropython.mem_peak
except (ImportError, AttributeError):
    mem_peak = None

for attr in sorted(dir(mod)):
    if not attr.startswith("test_") or (only and attr != only):
        continue
    fn = getattr(mod, attr)
    if not callable(fn):
        continue
    gc.collect()
    try:
        fn()
    except _t.Skip as e:
        skipped += 1
        print("SKIP %s.%s: %s" % (name, attr, e))
        continue
    except Exception as e:  # a failing test is reported, the run goes on
        failed += 1
        print("FAIL %s.%s: %s: %s" % (name, attr, type(e).__name__, e))
        sys.print_exception(e)
        continue
    passed += 1
    print("ok   %s.%s" % (name, attr))
if mem_peak:
    peak = mem_peak()
print("@@RESULT %d %d %d %d" % (passed, failed, skipped, peak))
