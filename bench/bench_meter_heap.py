"""The whole meter's memory as deployed (.mpy): working memory of a prepayment day with the code
loaded (ballast method), heap in use at the end, smallest heap of a virtual-board-like run
(host_tools/boards/meterheap.py; docs/board-memory.md "Whole meter").
Usage: .venv/bin/python bench/bench_meter_heap.py
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from host_tools.boards import meterheap as M  # noqa: E402


def main():
    t0 = time.monotonic()
    d = tempfile.mkdtemp(prefix="meterheap-")
    tree = M.build_tree(os.path.join(d, "tree"))
    free, used = M.check(M.run(tree, M.provision(os.path.join(d, "plain")), "1M", frozen=True))
    print("in use at the end of the day, code loaded (names as frozen): %.1f KB" % (used / 1024))
    ws = M.working_set(tree, os.path.join(d, "ws"), step=512)
    print("working memory of the day, code excluded (ballast method): %.1f KB" % (ws / 1024))
    smallest = None
    for h in (512, 448, 384, 352, 320, 304, 288, 256):
        r = M.run(tree, M.provision(os.path.join(d, "h%d" % h)), "%dK" % h)
        try:
            M.check(r)
            smallest = h
        except AssertionError:
            break
    print("smallest -X heapsize as a virtual board runs it (qstr pools grown at start): %sK" % smallest)
    print("bench_meter_heap: %.1f s" % (time.monotonic() - t0))
    return 0 if ws else 1


if __name__ == "__main__":
    sys.exit(main())
