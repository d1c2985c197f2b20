"""The whole ESME pipeline runs inside `micropython -X heapsize=96K` as deployed (.mpy), every
answer checked on the host with independent crypto (host_tools/boards/heaprun.py;
docs/board-memory.md). The smallest heap and the source-module figure: bench/bench_gbcs_pipeline.py."""
import pytest

from host_tools.boards import heaprun as H


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return H.build_tree(str(tmp_path_factory.mktemp("tree")))


def test_pipeline_runs_in_96k_heap(tree, tmp_path):
    res = H.run(tree, H.provision(str(tmp_path / "store")), "96K")
    free = H.check(res)
    assert free > 0


def test_check_catches_a_wrong_answer(tree, tmp_path):
    """The host-side check is not a rubber stamp: a device whose ECS45 answer is altered, or that
    runs out of heap, fails it."""
    res = H.run(tree, H.provision(str(tmp_path / "store")), "1M")
    H.check(res)
    bad = dict(res, lines=[list(x) for x in res["lines"]])
    i = [x[1] for x in bad["lines"]].index("cmd_ecs45")
    b = bytearray.fromhex(bad["lines"][i][2])
    b[-1] ^= 1
    bad["lines"][i][2] = b.hex()
    with pytest.raises(AssertionError):
        H.check(bad)
    with pytest.raises(AssertionError):
        H.check(H.run(tree, H.provision(str(tmp_path / "small")), "32K"))
