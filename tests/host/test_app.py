"""firmware.app on a detached unix board under CPython (the real App and store).

serve(): an exception escaping a poll (MemoryError on a small or fragmented heap, or a
firmware bug) is recorded in the store's event log and resets the board, as a watchdog would; the
meter does not stay dead at the REPL. Run under CPython with the real App on a detached unix board
(reset() there counts instead of restarting a process); the fault is injected into one poll.
The HHT login trusts the ESME's own cached VerifyKey over the supplier's comb table file, not a
second copy of the security state read at each login."""
import os

import pytest

from board import unix
from firmware import app as A
from firmware import provisioning
from firmware.store.durable import Store
from host_tools.keys import pki, provision


@pytest.fixture
def meter(tmp_path):
    ks = str(tmp_path / "pki")
    pki.create_bench_pki(ks, (("esme", 1),))
    eui = pki.bench_device_eui("esme", 1)
    root = str(tmp_path / "flash")
    os.makedirs(root)
    vk = root + A.VK_DIR
    A.ensure_dir(vk)
    provisioning.apply(Store(root), provision.payload(ks, eui), eui, vk)
    b = unix.Board(root)
    b.eui64 = lambda: eui
    return b


def _events(root):
    return [e if isinstance(e, str) else e.decode() for e in Store(root).log("event").entries()]


def test_fault_in_a_poll_is_logged_and_resets(meter, monkeypatch):
    app = A.App(meter)
    assert meter.displayed[-1] == "READY ESME"
    A.serve(meter, app, polls=5)  # nothing pending: five quiet polls, no reset
    assert meter.resets == 0 and _events(meter.root) == []

    def exhausted():
        raise MemoryError("memory allocation failed, allocating 2206 bytes")

    monkeypatch.setattr(app.panel.port, "poll", exhausted)
    A.serve(meter, app)  # returns only because a detached board's reset() returns
    assert meter.resets == 1
    assert _events(meter.root) == ["reset after MemoryError: memory allocation failed, allocating 2206 bytes"]
    # after the reset the meter boots from the same store and serves again
    again = A.App(meter)
    assert meter.displayed[-1] == "READY ESME"
    A.serve(meter, again, polls=2)
    assert meter.resets == 1


def test_keyboard_interrupt_still_stops_the_loop(meter, monkeypatch):
    app = A.App(meter)

    def ctrl_c():
        raise KeyboardInterrupt

    monkeypatch.setattr(app.panel.port, "poll", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        A.serve(meter, app)
    assert meter.resets == 0 and _events(meter.root) == []


def test_login_anchor_is_the_esme_verify_key(meter):
    from firmware.core import trust
    from firmware.gbcs import parties

    app = A.App(meter)
    sec = app.role.trust
    sup = sec.cell(parties.SUPPLIER, trust.DS)
    key = app.panel.port.auth.anchors(sup.eui)
    assert key is sec.verify_key(sup) and key.mode == "file"
    assert app.panel.port.auth.anchors(b"\x99" * 8) is None  # not a party of this meter


def test_unknown_or_missing_role_fails_at_boot(meter):
    from firmware.alerts import Reject
    from firmware.core import reasons

    st = Store(meter.root)
    st.put_json(A.ROLE_REC, {"role": "gasmeter"})
    with pytest.raises(Reject) as e:
        A.App(unix.Board(meter.root))
    assert e.value.reason == reasons.UNKNOWN_ROLE
    b = unix.Board(meter.root)
    with pytest.raises(Reject):
        A.App(b)
    assert b.displayed[-1] == "UNKNOWN ROLE gasmeter"
    assert any("unknown-role" in ev and "gasmeter" in ev for ev in _events(meter.root))
    st.delete(A.ROLE_REC)  # a provisioned store naming no role
    b = unix.Board(meter.root)
    with pytest.raises(Reject) as e:
        A.App(b)
    assert e.value.reason == reasons.UNKNOWN_ROLE and b.displayed[-1] == "UNKNOWN ROLE (none)"


def test_unprovisioned_board_shows_it_and_serves_nothing(tmp_path):
    b = unix.Board(str(tmp_path / "blank"))
    app = A.App(b)
    assert b.displayed == ["NOT PROVISIONED"] and app.panel is None and app.role is None
    A.serve(b, app, polls=3)
    assert b.resets == 0 and _events(b.root) == []
