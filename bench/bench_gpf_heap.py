"""The Gas Proxy Function's memory as deployed (.mpy; docs/board-memory.md "Gas Proxy Function"):
host_tools/boards/gpfheap.py's sequence (mirror report, GCS13a read from the mirror with an encrypted
reply, GCS59, a message queued, GET, the GSME's PUT with a tap-off, a power-on, a replay), every
answer verified on the host, at heaps from 256K down: the smallest heap from which every larger
tried one passes, and the working memory (ballast method, code loaded). Needs ../shared.
Usage: .venv/bin/python bench/bench_gpf_heap.py
"""
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main():
    from host_tools.boards import gpfheap as G
    from host_tools.gbcs import corpus as C

    keys = C.Keystore(C.KEYSTORE)
    with tempfile.TemporaryDirectory() as tmp:
        tree = G.build_tree(os.path.join(tmp, "tree"))
        files = G.inputs(os.path.join(tmp, "in"), keys)
        smallest = None
        for kb in range(256, 95, -8):
            res = G.run(tree, G.provision(os.path.join(tmp, "s%d" % kb), keys), files, "%dK" % kb)
            try:
                free = G.check(res, keys, files)
            except AssertionError:
                break
            smallest = (kb, free)
        ws = G.working_set(tree, tmp, keys, files)
    if smallest is None:
        print("bench_gpf_heap: fails at 256K")
        return 1
    print("bench_gpf_heap: smallest heap %dK (%.1f KB free at the end); working memory %.1f KB"
          % (smallest[0], smallest[1] / 1024, (ws or 0) / 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
