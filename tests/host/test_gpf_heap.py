"""The Gas Proxy Function's sequence as deployed (.mpy) inside `micropython -X heapsize=144K` (the
smallest passing heap is 136K, docs/board-memory.md): mirror report, GCS13a from the mirror
(verified and decrypted on the host, the reported register), GCS59 equal to RTDS, a message queued,
GET, the GSME's PUT with a tap-off, a power-on with the queue empty, a replay refused
(host_tools/boards/gpfheap.py). Skips when ../shared is absent."""
import os

import pytest

from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")


def test_gpf_sequence_in_144k(tmp_path):
    from host_tools.boards import gpfheap as G

    keys = C.Keystore(C.KEYSTORE)
    tree = G.build_tree(str(tmp_path / "tree"))
    files = G.inputs(str(tmp_path / "in"), keys)
    res = G.run(tree, G.provision(str(tmp_path / "st"), keys), files, "144K")
    assert G.check(res, keys, files) > 0
    assert os.path.exists(os.path.join(tree, "firmware", "gas", "gpf.mpy"))
