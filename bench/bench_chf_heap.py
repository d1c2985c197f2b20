"""Memory of the Comms Hub Function with a full Device Log (docs/board-memory.md, "Comms Hub"): the
hub sequence of host_tools/boards/hubheap.py (boot the RTDS CHF with 16 logged devices and a full
historic log, CCS06, CCS07, CCS02, CCS01, an unknown joiner, the pending alerts built, reboot,
replay), as deployed (.mpy), every answer checked on the host. Prints the smallest -X heapsize of
those tried from which every larger one passes, the working memory (ballast method: free heap the
sequence needs once its code is loaded) and the heap in use at the end of a 1M run. Needs
../shared. Usage: .venv/bin/python bench/bench_chf_heap.py
"""
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from host_tools.boards import hubheap as H  # noqa: E402
from host_tools.gbcs import corpus as C  # noqa: E402

HEAPS = ("256K", "192K", "160K", "152K", "144K", "136K", "128K", "112K", "96K")


def main():
    if not C.available():
        print("bench_chf_heap: ../shared/interop is not present")
        return 1
    keys = C.Keystore(C.KEYSTORE)
    with tempfile.TemporaryDirectory() as tmp:
        tree = H.build_tree(os.path.join(tmp, "tree"))
        cmds = H.commands(os.path.join(tmp, "cmds"))
        smallest = None
        for heap in HEAPS:
            res = H.run(tree, H.provision(os.path.join(tmp, "s" + heap), keys), cmds, heap)
            try:
                free = H.check(res, keys, cmds)
                print("%5s pass (free at end %d)" % (heap, free))
                smallest = heap
            except AssertionError:
                print("%5s FAIL" % heap)
                break
        ws = H.working_set(tree, tmp, keys, cmds)
        end = H.check(H.run(tree, H.provision(os.path.join(tmp, "big"), keys), cmds, "1M"), keys, cmds)
    print("bench_chf_heap: smallest heap %s; working memory %.1f KB; in use at the end of a 1M run %.1f KB"
          % (smallest, ws / 1024.0, (1024 * 1024 - end) / 1024.0))
    return 0 if smallest else 1


if __name__ == "__main__":
    sys.exit(main())
