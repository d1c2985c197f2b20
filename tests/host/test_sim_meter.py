"""Meter time and simulated load of a unix board (board/unix.py simulation; host side
host_tools/boards/simctl.py; docs/virtual-board.md "Meter time and load"): the anchored virtual
clock (rate, advance, set, frozen), constant and daily-profile loads, settings arriving as
`sim <json>` lines on the board's sim stream, and the host's sim.json the ROM reads at boot."""
import json
import time

from board.hal import MemStream
from board.unix import Board
from host_tools.boards import simctl


def test_virtual_clock_and_profile_load(tmp_path):
    b = Board(str(tmp_path / "b"))
    assert abs(b.time() - int(time.time())) <= 1 and b.load_w(0) == 0  # no simulation: host clock
    b.simulate({"clock": {"t0": 1000, "at": simctl._real_ms(), "rate": 0}})
    assert b.time() == 1000
    b.advance(3600)
    assert b.time() == 4600
    b.simulate({"clock": {"t0": 1000, "at": simctl._real_ms() - 2000, "rate": 3600}})
    assert 1000 + 7200 <= b.time() <= 1000 + 7200 + 360  # two real seconds = two meter hours
    b.simulate({"load": {"profile": [[7 * 3600, 2000], [0, 300], [17 * 3600, 3000]]}})
    assert b.load_w(86400 * 5 + 3600) == 300 and b.load_w(8 * 3600) == 2000 and b.load_w(23 * 3600) == 3000
    b.simulate({"load": {"w": -1500}})
    assert b.load_w(12345) == -1500


def test_settings_arrive_as_lines_on_the_sim_stream(tmp_path):
    s = MemStream()
    b = Board(str(tmp_path / "b"), streams={"sim": s})
    s.feed(b'sim {"clock": {"t0": 5000, "at": 0, "rate": 0}, "load": {"w": 4000}}\nsim {"load"')
    assert b.time() == 5000 and b.load_w(0) == 4000
    s.feed(b': {"w": 10}}\nsim not json\n')  # a split line completes; a bad one is reported, ignored
    assert b.time() == 5000 and b.load_w(0) == 10


def test_host_settings_file_and_meter_time(tmp_path):
    d = str(tmp_path)
    simctl.clock(d, rate=0, set_to=1772409600)
    assert simctl.meter_time(d) == 1772409600
    simctl.clock(d, advance=86400)
    assert simctl.meter_time(d) == 1772409600 + 86400
    simctl.set_load(d, profile=simctl.parse_profile("0:0.3,7:2,17.5:3"))
    s = json.load(open(tmp_path / "sim.json"))
    assert s["load"] == {"profile": [[0, 300], [25200, 2000], [63000, 3000]]}
    assert s["clock"]["rate"] == 0
    b = Board(str(tmp_path / "b"), cfg={"sim": s, "storage_root": str(tmp_path / "b")})
    assert b.time() == 1772409600 + 86400 and b.load_w(18 * 3600) == 3000
