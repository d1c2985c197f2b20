"""The whole meter (application + metering engine) runs a prepayment day as deployed (.mpy) on a
virtual-board-sized heap, every step of the day checked (host_tools/boards/meterheap.py;
docs/board-memory.md "Whole meter"). The figures: bench/bench_meter_heap.py."""
import pytest

from host_tools.boards import meterheap as M


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return M.build_tree(str(tmp_path_factory.mktemp("mtree")))


def test_prepayment_day_runs_in_352k(tree, tmp_path):
    free, used = M.check(M.run(tree, M.provision(str(tmp_path / "a")), "352K"))
    assert free > 0 and used > 100 * 1024


def test_check_catches_a_heap_too_small(tree, tmp_path):
    with pytest.raises(AssertionError):
        M.check(M.run(tree, M.provision(str(tmp_path / "b")), "192K"))
