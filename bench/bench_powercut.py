"""Full power-cut campaign for the durable store on littlefs2 (docs/storage.md).

Runs board/unix_powercut.py in one MicroPython unix-port process: a power cut at every write index of
every workload step, clean and torn, reboot and check. Prints cut points tried and violations found
(must be 0; exit status 1 otherwise). Usage: .venv/bin/python bench/bench_powercut.py [steps] [seed]
"""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(os.path.dirname(sys.executable), "micropython")


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    t0 = time.monotonic()
    code = "import sys\nsys.path.insert(0, %r)\nfrom board import unix_powercut as powercut\npowercut.main(%d, %d, show=50)" % (
        ROOT, steps, seed)
    p = subprocess.run([MP, "-X", "heapsize=2M", "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=3600)
    dt = time.monotonic() - t0
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    m = re.search(r"@@POWERCUT steps=(\d+) cut_points=(\d+) violations=(\d+)", p.stdout)
    if not m:
        print("bench_powercut: campaign did not finish (rc %d)" % p.returncode)
        return 1
    s, c, v = (int(x) for x in m.groups())
    print("bench_powercut: workload steps %d, cut points tried %d (clean + torn), violations %d, %.1f s"
          % (s, c, v, dt))
    return 1 if v else 0


if __name__ == "__main__":
    sys.exit(main())
