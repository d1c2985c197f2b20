"""The Comms Hub Function with a full Device Log (16 devices with TC link keys, historic log 15)
runs its sequence as deployed (.mpy) inside `micropython -X heapsize=160K` (the smallest passing
heap measured is 144K; docs/board-memory.md), every response and alert checked on the host
(host_tools/boards/hubheap.py); the check catches a wrong alert. Skips without ../shared."""
import os

import pytest

from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")

from host_tools.boards import hubheap as H  # noqa: E402


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("hub")
    return H.build_tree(str(d / "tree")), H.commands(str(d / "cmds")), C.Keystore(C.KEYSTORE)


def test_hub_sequence_with_a_full_device_log_in_160k(env, tmp_path):
    tree, cmds, keys = env
    res = H.run(tree, H.provision(str(tmp_path / "s"), keys), cmds, "160K")
    assert H.check(res, keys, cmds) > 0


def test_check_catches_a_wrong_alert_and_a_small_heap(env, tmp_path):
    tree, cmds, keys = env
    res = H.run(tree, H.provision(str(tmp_path / "s"), keys), cmds, "1M")
    H.check(res, keys, cmds)
    lines = [list(x) for x in res["lines"]]
    i = next(k for k, x in enumerate(lines) if x[0] == "A")
    b = bytearray.fromhex(lines[i][2])
    b[-1] ^= 1
    lines[i][2] = b.hex()
    with pytest.raises(AssertionError):
        H.check(dict(res, lines=lines), keys, cmds)
    with pytest.raises(AssertionError):
        H.check(H.run(tree, H.provision(str(tmp_path / "small"), keys), cmds, "64K"), keys, cmds)
