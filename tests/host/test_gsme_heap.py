"""The GSME's boot and critical command path (the valve: KRP-signed GCS39/GCS32, signed responses,
the consumer's button, a power-on and a replay) runs inside `micropython -X heapsize=96K` as deployed
(.mpy), every answer checked on the host with independent crypto (host_tools/boards/gsmeheap.py;
docs/board-memory.md "GSME"). Skips when ../shared/interop is absent."""
import pytest

from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")

from host_tools.boards import gsmeheap as G  # noqa: E402


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gsmeheap")
    return G.build_tree(str(tmp / "tree")), G.commands(str(tmp / "cmds")), C.Keystore(C.KEYSTORE)


def test_valve_path_runs_in_96k_heap(env, tmp_path):
    tree, cmds, keys = env
    res = G.run(tree, G.provision(str(tmp_path / "st"), keys), cmds, "96K")
    assert G.check(res, keys, cmds) > 0


def test_check_catches_a_wrong_answer(env, tmp_path):
    """The host-side check is not a rubber stamp: an altered signed response, or a device that runs
    out of heap, fails it."""
    tree, cmds, keys = env
    res = G.run(tree, G.provision(str(tmp_path / "st"), keys), cmds, "1M")
    G.check(res, keys, cmds)
    bad = dict(res, lines=[list(x) for x in res["lines"]])
    b = bytearray.fromhex(bad["lines"][0][2])
    b[-1] ^= 1
    bad["lines"][0][2] = b.hex()
    with pytest.raises(AssertionError):
        G.check(bad, keys, cmds)
    with pytest.raises(AssertionError):
        G.check(G.run(tree, G.provision(str(tmp_path / "small"), keys), cmds, "48K"), keys, cmds)
