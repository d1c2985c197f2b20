"""The test fault hook (firmware/core/faults.py) on the ESME role in process, with RTDS commands: the
command a fault hits answers items before K as usual, item K hardware-fault (1), later items
other-reason (250), all failed items null-data (the shape of every RTDS DLMS ERROR response); a
DER command the role's failure answer without running; one-shot, stored so a reboot keeps it; a
fault for an originator counter waits for that command; a power cut before the fault's store
write leaves it armed (the command burned), after it the fault is gone (not repeated); a device
with no fault armed runs the table's own execute. `smlab sim fault` on a virtual board is in
tests/host/test_rtds_runner.py (one board session for both). Skips without ../shared/interop."""
import pytest

from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")

from firmware import roles  # noqa: E402
from firmware.alerts import Reject  # noqa: E402
from firmware.core import faults  # noqa: E402
from firmware.gbcs import dlms_client, frame  # noqa: E402
from firmware.store.durable import Store  # noqa: E402
from host_tools.gbcs import runner  # noqa: E402


@pytest.fixture(scope="module")
def keys():
    return C.Keystore(C.KEYSTORE)


@pytest.fixture(scope="module")
def esme():
    return runner.role("esme")


def _uc(esme, name):
    return runner.use_cases(C.RTDS, esme.eui, [name])[0]


def _dev(esme, keys, uc, tmp_path):
    d = runner.InProcess(esme, keys, workdir=str(tmp_path))
    d.begin(uc)
    return d


def _results(raw):
    inv, data, res = dlms_client.parse_response(frame.parse(raw).content)
    return data, [r[1] for r in res]


def _boot(d):
    """Power the in-process device on again from its store (as firmware/app.py boots)."""
    st = Store(d.dev.store.root)
    d.dev = roles.build("esme", runner._HostBoard(), st, d.table_dir)
    if st.get(faults.REC) is not None:
        faults.load(d.dev.table, st)
    return d.dev


@pytest.mark.parametrize("k", [0, 1, 2, 16, 40])
def test_fault_at_item_k_has_the_rtds_error_shape(esme, keys, tmp_path, k):
    uc = _uc(esme, "ECS24")  # 17 GET items
    suc = [c for c in uc.commands if c.variant == "SUCCESS"][0]
    err = [c for c in uc.commands if c.variant == "ERROR"][0]
    d = _dev(esme, keys, uc, tmp_path / "a")
    plain_data, plain_codes = _results(d.send(suc.raw))  # no fault: the device's own answer
    d.begin(uc)
    faults.arm(d.dev.store, k, table=d.dev.table)
    assert "execute" in d.dev.table.__dict__
    data, codes = _results(d.send(suc.raw))
    n = len(codes)
    kk = min(k, n - 1)
    assert n == 17
    assert codes[:kk] == plain_codes[:kk] and data[:kk] == plain_data[:kk]
    assert codes[kk] == 1 and codes[kk + 1:] == [250] * (n - kk - 1)
    assert all(x == (0, None) for x in data[kk:])
    # one-shot: consumed from the store and the table, the next command answers as usual
    assert faults.armed(d.dev.store) == [] and d.dev.table.fault is None
    assert "execute" not in d.dev.table.__dict__
    assert _results(d.send(err.raw))[1] == plain_codes
    d.close()


def test_fault_survives_a_reboot_and_hits_its_counter_only(esme, keys, tmp_path):
    uc = _uc(esme, "ECS17a")
    suc, err = uc.commands[0], uc.commands[1]
    assert suc.msg.counter < err.msg.counter
    d = _dev(esme, keys, uc, tmp_path)
    faults.arm(d.dev.store, 2, counter=err.msg.counter)  # stored only: takes effect at boot
    dev = _boot(d)
    assert faults.armed(dev.store) == [(err.msg.counter, 2)]
    assert 1 not in _results(d.send(suc.raw))[1]  # another counter: not hit
    assert faults.armed(dev.store) == [(err.msg.counter, 2)]
    dev = _boot(d)  # still there after another reboot
    codes = _results(d.send(err.raw))[1]
    assert codes[2:] == [1, 250]
    assert faults.armed(dev.store) == []
    assert getattr(_boot(d).table, "fault", None) is None
    d.close()


def test_der_command_answered_by_the_role_failure(esme, keys, tmp_path):
    uc = _uc(esme, "CS06")
    cmd = [c for c in uc.commands if c.name.startswith("CS06_11.3_IMMEDIATE_SUCCESS")][0]
    d = _dev(esme, keys, uc, tmp_path)
    calls = []
    d.dev.table.der = lambda *a: calls.append("der") or b"\x02\x01\x00"
    d.dev.table.der_fault = None  # a role without a failure answer: command failed (INTEGER 3)
    faults.arm(d.dev.store, 0, table=d.dev.table)
    assert frame.parse(d.send(cmd.raw)).content == b"\x02\x01\x03" and calls == []
    # the ESME's own: CS06 immediate not activated, the running version answered, the image kept
    d.begin(uc)
    from firmware.meter import der

    der.stage_image(d.dev.store, bytes(cmd.msg.content[4:36]), b"\x01\x02\x03\x05", b"\x01\x02\x03\x04")
    faults.arm(d.dev.store, 0, table=d.dev.table)
    assert frame.parse(d.send(cmd.raw)).content == bytes.fromhex("3009020101040401020304")
    assert d.dev.store.get_json(der.FW_REC, None)["img"] == bytes(cmd.msg.content[4:36]).hex()
    # a role with a failure answer gives it, the DER use case not run
    d.begin(uc)
    d.dev.table.der = lambda *a: calls.append("der") or b"\x02\x01\x00"
    d.dev.table.der_fault = lambda dev, m, party, log: b"\x30\x03\x02\x01\x01"
    faults.arm(d.dev.store, 0, table=d.dev.table)
    assert frame.parse(d.send(cmd.raw)).content == b"\x30\x03\x02\x01\x01" and calls == []
    d.close()


class _Cut(Exception):
    """The power goes off."""


def test_power_cut_around_the_fault_write(esme, keys, tmp_path, monkeypatch):
    uc = _uc(esme, "ECS17a")
    suc, err = uc.commands[0], uc.commands[1]
    # cut at the fault's store write: the command's counter is burned, the fault stays armed
    d = _dev(esme, keys, uc, tmp_path / "before")
    faults.arm(d.dev.store, 1, table=d.dev.table)
    st = d.dev.store
    orig = type(st).delete

    def cut(self, name):
        if name == faults.REC:
            raise _Cut()
        return orig(self, name)

    monkeypatch.setattr(type(st), "delete", cut)
    with pytest.raises(_Cut):
        d.send(suc.raw)
    monkeypatch.setattr(type(st), "delete", orig)
    _boot(d)
    with pytest.raises(runner.Refused):  # burned: a replay now
        d.send(suc.raw)
    assert _results(d.send(err.raw))[1] == [0, 1, 250, 250]  # the fault hits the next command
    assert faults.armed(d.dev.store) == []
    d.close()
    # cut after the write (in the first item's handler): the fault is gone, not repeated
    d = _dev(esme, keys, uc, tmp_path / "after")
    faults.arm(d.dev.store, 1, table=d.dev.table)
    table = d.dev.table
    real = type(table).execute

    def dying(self, device, m, party, log):
        raise _Cut()

    monkeypatch.setattr(type(table), "execute", dying)
    with pytest.raises(_Cut):
        d.send(suc.raw)
    monkeypatch.setattr(type(table), "execute", real)
    dev = _boot(d)
    assert faults.armed(dev.store) == [] and "execute" not in dev.table.__dict__
    assert 1 not in _results(d.send(err.raw))[1]
    d.close()


def test_arm_refuses_out_of_range(tmp_path):
    st = Store(str(tmp_path))
    for k, c in ((256, 0), (-1, 0), (0, 1 << 64)):
        with pytest.raises(ValueError):
            faults.arm(st, k, c)
    assert faults.armed(st) == []
    faults.arm(st, 3, 7)
    faults.arm(st, 4, 7)  # the same counter: replaced
    faults.arm(st, 5)
    assert faults.armed(st) == [(7, 4), (0, 5)]
    faults.clear(st)
    assert faults.armed(st) == [] and st.get(faults.REC) is None
    with pytest.raises(Reject):  # a damaged record is the store's to report, not silently dropped
        (tmp_path / "R.fault.a").write_bytes(b"junk")
        Store(str(tmp_path)).get(faults.REC)
