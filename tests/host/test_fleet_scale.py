"""Fleet density and speed, a bounded slice of bench/bench_fleet_scale.py: ten virtual ESMEs flashed
from one prebuilt littlefs2 image (each board checking its files' hashes on its first boot), all
served by one supervisor process, a top-up campaign through the in-process counter ledger and
event-driven display lines; idle boards cost (almost) no CPU; a damaged image runs nothing; the
ledger never hands a counter out twice, across threads or after a crash."""
import json
import os
import threading
import time

import pytest

from host_tools.boards import image
from host_tools.boards.vboard import VBoard, pid_alive
from host_tools.campaigns import fleet
from host_tools.codes import utrn as U
from host_tools.keys import pki


def _ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        x = f.read().rsplit(")", 1)[1].split()
    return int(x[11]) + int(x[12])


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    d = tmp_path_factory.mktemp("fleet")
    sc = {"name": "scale slice", "boards": {"count": 10},
          "steps": [{"do": "topup", "amount": "1.00", "expect": "ACCEPTED"},
                    {"do": "replay", "expect": "REJECTED 8F51"},
                    {"do": "topup", "amount": "2.00", "expect": "ACCEPTED"}]}
    r = fleet.Runner(sc, str(d))
    r.setup()
    yield r
    r.stop()


def test_ten_boards_one_supervisor_flashed_from_an_image(campaign):
    r = campaign
    sts = [vb.status() for vb in r.vbs]
    assert len({st["supervisor"] for st in sts}) == 1  # one process serves all ten
    assert len({st["micropython"] for st in sts}) == 10
    assert r.setup_s["flash"] < 10, r.setup_s
    for vb in r.vbs:  # every board checked its own files against the image's hash list
        with open(os.path.join(vb.path, "flash-events.log")) as f:
            ev = f.read()
        assert "verified " in ev and "hash mismatch" not in ev, ev
    rep = r.run()
    assert rep["steps"] == 30 and rep["failures"] == 0, rep["failed"]
    assert rep["latency_ms"]["topup"]["p50"] < 2000
    # one board reset through the shared supervisor: the others keep running untouched
    before = [vb.status()["micropython"] for vb in r.vbs]
    r.vbs[0].reset_to_app()
    after = [vb.status()["micropython"] for vb in r.vbs]
    assert after[0] != before[0] and after[1:] == before[1:]
    assert all(pid_alive(p) for p in after)


def test_idle_boards_cost_almost_no_cpu(campaign):
    pids = [vb.status()["micropython"] for vb in campaign.vbs[:3]]
    a = [_ticks(p) for p in pids]
    time.sleep(5)
    b = [_ticks(p) for p in pids]
    hz = os.sysconf("SC_CLK_TCK")
    pct = [(y - x) * 100.0 / hz / 5 for x, y in zip(a, b)]
    assert max(pct) <= 0.3, pct  # the firmware polling every 2 ms cost ~2% each


def test_ledger_after_the_campaign_is_exact(campaign):
    campaign.ledger.close()  # what stop() does; writes the exact last counters
    campaign.ledger = None
    with open(os.path.join(campaign.keys, U.LEDGER)) as f:
        led = json.load(f)
    assert sorted(led.values()) == [2] * 10  # two top-ups per board, counters 1 and 2


def test_damaged_image_runs_nothing(tmp_path):
    files = [("/main.py", b"print('[display] RAN')\n")]
    raw = bytearray(image.build_image(files, 128))
    from littlefs import LittleFS

    fs = LittleFS(block_size=4096, block_count=32, read_size=32, prog_size=32, lookahead_size=32,
                  disk_version=0x00020000, mount=False)
    fs.context.buffer[:] = raw
    fs.mount()
    with fs.open("/main.py", "wb") as f:  # the file changed after its hash was listed
        f.write(b"print('[display] TAMPERED')\n")
    img = tmp_path / "bad.img"
    img.write_bytes(bytes(fs.context.buffer))
    vb = VBoard(str(tmp_path / "b"), flash_kb=128)
    off = image.copy_to(str(img), vb.path)
    with vb:
        with pytest.raises(Exception) as e:
            image.wait_verified([vb], [off], timeout=30)
        assert "hash mismatch /main.py" in str(e.value)
        assert "TAMPERED" not in vb.console_log() and "RAN" not in vb.console_log()


def test_ledger_threads_and_crash(tmp_path):
    keys = str(tmp_path)
    led = pki.Ledger(keys, "c.json", reserve=4)
    got = []
    mu = threading.Lock()

    def work():
        for _ in range(50):
            c = led.bump("k", lambda last: (last or 0) + 1)
            with mu:
                got.append(c)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(got) == list(range(1, 201))  # no counter twice, none skipped in one run
    with open(tmp_path / "c.json") as f:  # a crash now: the file covers every counter handed out
        assert json.load(f)["k"] >= 200
    led._release()  # (the crash: the lock goes with the process, close() never ran)
    assert pki.bump_ledger(keys, "c.json", "k", lambda last: last + 1) > 200
    led2 = pki.Ledger(keys, "c.json")
    n = led2.bump("k", lambda last: last + 1)
    led2.close()
    with open(tmp_path / "c.json") as f:
        assert json.load(f)["k"] == n
