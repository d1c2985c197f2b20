"""pytest configuration: make the repo root and tests/unit importable (as the MicroPython harness does)."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (ROOT, os.path.join(ROOT, "tests", "unit")):
    if p not in sys.path:
        sys.path.insert(0, p)
