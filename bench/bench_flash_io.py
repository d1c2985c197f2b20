"""A durable record write on the virtual board's flash, as the firmware does one per accepted HAN
frame counter, GBCS counter or top-up: Store.put (tmp file + rename on littlefs2) on a NorFlash
over a 2 MB image file (board/flash.py), run by the MicroPython unix port as a virtual board runs
it. Three configurations in one run, so the figures are ratios on the same machine and load:

  before   littlefs readsize 32 (littlefs's default) and a bytes copy per read (the old readblocks)
  readinto readsize 32, reads straight into littlefs's buffer
  now      readsize = board.flash.READSIZE (what board/unix_boot.py mounts with), readinto

    .venv/bin/python bench/bench_flash_io.py [--n 200] [--json]

Prints ms per put, readblocks calls per put and the speed-up of `now` over `before`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DEVICE = r"""
import sys, time, vfs
sys.path.insert(0, %(root)r)
from board.flash import READSIZE, NorFlash

class CopyRead(NorFlash):
    def readblocks(self, block, buf, offset=0):  # the read before: a bytes object, then a copy
        if self.dead:
            return -5
        buf[:] = self._get(block * self.bs + offset, len(buf))
        return 0

def run(cls, rs, path, n):
    img = open(path, "r+b")
    dev = cls(img, 4096)
    calls = [0]
    rb = dev.readblocks
    def counted(b, buf, off=0):
        calls[0] += 1
        return rb(b, buf, off)
    dev.readblocks = counted
    vfs.VfsLfs2.mkfs(dev, readsize=rs)
    vfs.mount(vfs.VfsLfs2(dev, readsize=rs), "/fl")
    from firmware.store.durable import Store
    st = Store("/fl/state")
    for i in range(24):  # a state directory like a provisioned meter's
        st.put("rec%%d" %% i, b"x" * 40)
    calls[0] = 0
    t = time.ticks_us()
    for i in range(n):
        st.put("zb-in", b"y" * 24)
    us = time.ticks_diff(time.ticks_us(), t)
    vfs.umount("/fl")
    img.close()
    print("@@ %%s %%.3f %%.1f" %% ("%%s-%%d" %% (cls.__name__, rs), us / n / 1000.0, calls[0] / n))

n = %(n)d
run(CopyRead, 32, %(img)r, n)
run(NorFlash, 32, %(img)r, n)
run(NorFlash, READSIZE, %(img)r, n)
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    mp = os.path.join(ROOT, ".venv", "bin", "micropython")
    with tempfile.TemporaryDirectory() as d:
        img = os.path.join(d, "flash.img")
        with open(img, "wb") as f:
            f.write(b"\xff" * (2048 * 1024))
        src = os.path.join(d, "dev.py")
        with open(src, "w") as f:
            f.write(DEVICE % {"root": ROOT, "n": a.n, "img": img})
        r = subprocess.run([mp, "-X", "heapsize=512K", src], capture_output=True, text=True, timeout=600)
    if r.returncode:
        print("bench_flash_io: device run failed:\n" + (r.stdout + r.stderr)[-2000:])
        return 1
    rows = [ln.split()[1:] for ln in r.stdout.splitlines() if ln.startswith("@@ ")]
    names = ("before", "readinto", "now")
    res = {k: {"config": c, "ms_per_put": float(ms), "reads_per_put": float(rd)}
           for k, (c, ms, rd) in zip(names, rows)}
    res["speedup_now_vs_before"] = round(res["before"]["ms_per_put"] / res["now"]["ms_per_put"], 2)
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        for k in names:
            print("%-9s %-16s %7.3f ms/put  %7.1f readblocks/put"
                  % (k, res[k]["config"], res[k]["ms_per_put"], res[k]["reads_per_put"]))
        print("now is %.2fx faster than before" % res["speedup_now_vs_before"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
