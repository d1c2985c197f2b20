"""Power-cut campaign on littlefs2 (docs/storage.md), bounded subset for `make test`.

Runs board/unix_powercut.py inside one MicroPython unix-port process: a power cut at every write index
of every step (clean and torn), reboot, check every record/counter/log is old or new. The full
campaign is bench/bench_powercut.py. A negative control runs an in-place (non-atomic) writer and
must be caught, so this test can fail.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MP = os.path.join(os.path.dirname(sys.executable), "micropython")

UNSAFE = """
from firmware.store.durable import Store
class InPlace(Store):
    def _write_atomic(self, fname, *parts):
        data = b"".join(parts)
        with open(self._path(fname), "wb") as f:
            f.write(data[:len(data) // 2])
            f.flush()
            f.write(data[len(data) // 2:])
"""


def _run(code, timeout=120):
    p = subprocess.run([MP, "-X", "heapsize=2M", "-c", "import sys\nsys.path.insert(0, %r)\n%s" % (ROOT, code)],
                       cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    m = re.search(r"@@POWERCUT steps=(\d+) cut_points=(\d+) violations=(\d+)", p.stdout)
    assert m, p.stdout[-2000:] + p.stderr[-2000:]
    return [int(x) for x in m.groups()], p.stdout


def test_powercut_every_write_index_bounded():
    (steps, cuts, bad), out = _run("from board import unix_powercut as powercut\npowercut.main(45)")
    print("power-cut subset: %d steps, %d cut points, %d violations" % (steps, cuts, bad))
    assert steps == 45 and cuts >= 500
    assert bad == 0, out


def test_powercut_later_workload_with_rotation_and_big_records():
    (steps, cuts, bad), out = _run("from board import unix_powercut as powercut\npowercut.main(160, start=140)")
    assert cuts >= 200
    assert bad == 0, out


def test_campaign_catches_a_non_atomic_writer():
    (steps, cuts, bad), out = _run(UNSAFE + "from board import unix_powercut as powercut\npowercut.main(12, store_cls=InPlace)")
    assert cuts > 0 and bad > 0, out


BAD_DELETE = """
import os
from firmware.store.durable import Store
class NewestFirst(Store):
    def delete(self, name):  # removes the newest generation first: a cut resurrects the older one
        stem = "R." + name
        for s in ("a", "b"):
            try:
                os.stat(self._path(stem + "." + s))
            except OSError:
                continue
            self._remove(stem + "." + s)
        self._newest.pop(stem, None)
"""


def test_campaign_catches_a_delete_that_can_resurrect_an_old_value():
    # step 38 of the seed-1 workload deletes record "mode" whose newest copy is in slot a
    (steps, cuts, bad), out = _run(BAD_DELETE + "from board import unix_powercut as powercut\n"
                                   "assert powercut.workload(39)[38][0] == 'del'\n"
                                   "powercut.main(39, start=38, store_cls=NewestFirst)")
    assert cuts > 0 and bad > 0, out
    (steps, cuts, bad), out = _run("from board import unix_powercut as powercut\npowercut.main(39, start=38)")
    assert cuts > 0 and bad == 0, out
