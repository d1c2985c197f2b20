"""The Comms Hub Function role (firmware/roles/chf.py, firmware/hub/) against RTDS: the CHF
00DB1234567890A2 authenticates every RTDS command addressed to it (counted here from the corpus) and
its responses equal RTDS in content for every SUCCESS variant, with the hub provisioned by the bench
static-ECDH technique (host_tools/gbcs/chf_rtds.py, docs/hub.md); forged and replayed commands are
refused; the CCS01 -> join -> CCS02 -> CCS07 chain through the real gate changes the hub's model
and queues CS14; the hub's CS14 alert for the RTDS device log is byte-for-byte the RTDS alert
(its MAC included, from the bench Z); the 15 ERROR variants equal RTDS with the runner's fault hook;
`smlab rtds --role chf --json` reports the same counts.
Skips when ../shared/interop is absent."""
import json
import os
import tempfile

import pytest

from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")

from firmware.alerts import Reject  # noqa: E402
from firmware.gbcs import frame  # noqa: E402
from host_tools.gbcs import chf_rtds, runner  # noqa: E402

CHF = bytes.fromhex("00db1234567890a2")


@pytest.fixture(scope="module")
def keys():
    return C.Keystore(C.KEYSTORE)


def _corpus_count():
    """Commands (not pre-commands) addressed to the CHF, and their folders, counted from the files."""
    n, folders = 0, set()
    for f in C.corpus_files():
        name = os.path.basename(f)
        if name.endswith("_COMMAND_GBCS.HEX") and "PRECOMMAND" not in name:
            if frame.parse(C.load_hex(f)).recipient == CHF:
                n += 1
                folders.add(os.path.basename(os.path.dirname(f)))
    return n, len(folders)


@pytest.fixture(scope="module")
def report(keys):
    role = chf_rtds.ChfRole()
    ucs = runner.use_cases(C.RTDS, role.eui)
    return runner.run(chf_rtds.in_process(keys), role, ucs, keys)


def test_every_rtds_command_to_the_chf_authenticated_and_success_content_equal(report):
    n, folders = _corpus_count()
    assert (n, folders) == (32, 17)
    assert report["commands"] == n and report["use_case_count"] == folders
    assert report["authenticated"] == n and report["verified"] == n, [
        (u["name"], r) for u in report["use_cases"] for r in u["results"] if not r["verified"]]
    assert report["success_total"] == 17 and report["error_total"] == 15
    # every ERROR variant is a "same cmd" device fault, reproduced with the runner's fault hook
    assert report["error_content_equal"] == 15, [
        (u["name"], r["file"]) for u in report["use_cases"] for r in u["results"]
        if r["variant"] == "ERROR" and not r["content_equal"]]
    assert report["success_content_equal"] == 17, [
        (u["name"], r["file"]) for u in report["use_cases"] for r in u["results"]
        if r["variant"] == "SUCCESS" and not r["content_equal"]]


def _hub(keys, d):
    from firmware import roles
    from firmware.store.durable import Store

    st = Store(d)
    chf_rtds.ChfRole().provision_store(st, keys)
    return roles.build("chf", chf_rtds.RtdsBoard(), st)


def _cmd(folder, variant="SUCCESS"):
    return next(c for c in runner.use_cases(C.RTDS, CHF, [folder])[0].commands if c.variant == variant)


def test_forged_and_replayed_commands_refused(keys):
    with tempfile.TemporaryDirectory() as d:
        hub = _hub(keys, d)
        raw = bytearray(_cmd("CCS01").raw)
        raw[-1] ^= 1
        with pytest.raises(Reject) as e:
            hub.process(bytes(raw))
        assert e.value.code == 0x8F3D and hub.devlog.euis() == []
        ok = _cmd("CCS01").raw
        hub.process(ok)
        with pytest.raises(Reject) as e:
            hub.process(ok)
        assert e.value.code == 0x8F60
        assert len(hub.devlog.pending()) == 1  # one CS14: the replay changed nothing


def test_ccs01_join_ccs02_ccs07_chain_through_the_gate(keys):
    from firmware.hub import devicelog as D

    with tempfile.TemporaryDirectory() as d:
        hub = _hub(keys, d)
        a0 = bytes.fromhex("00db1234567890a0")
        hub.process(_cmd("CCS01").raw)  # register A0, join_timeout 90, joining enabled
        assert hub.devlog.euis() == [a0]
        t = chf_rtds.RTDS_TIME
        assert hub.may_join(a0, t + 10) == (D.INSTALL_CODE, bytes.fromhex("17e92caaa342c367e8eddc58eeba69ed"))
        assert hub.may_join(a0, t + 90)[0] == D.REFUSED_CLOSED
        assert hub.may_join(bytes(8), t + 10)[0] == D.REFUSED_UNKNOWN
        lk = bytes(range(16))
        hub.devlog.joined(a0, lk, t + 20)
    with tempfile.TemporaryDirectory() as d:  # CCS02 has CCS01's counter (1302): a fresh hub
        hub = _hub(keys, d)
        hub.devlog.add(a0, b"0123456789ABCDEF", 90, True, t)
        hub.devlog.joined(a0, lk, t)
        hub.process(_cmd("CCS02").raw)
        assert hub.devlog.euis() == [] and hub.devlog.historic() == [(a0, D.hashed_key(lk))]
        codes = [q[0] for q in hub.devlog.pending()]
        assert codes == [0x8F12, 0x8F12, 0x8F12]  # add, key established, remove
        state = hub.store.get("chf_dlog")
    with tempfile.TemporaryDirectory() as d:  # CCS07 (counter 1300) on that state
        hub = _hub(keys, d)
        hub.store.put("chf_dlog", state)
        hub.devlog.reload()
        r = frame.parse(hub.process(_cmd("CCS07").raw))
        from firmware.gbcs import dlms_client

        _, items, res = dlms_client.parse_response(r.content)
        assert res == [(3, 0), (3, 0)]
        assert items[0][1][2] == (1, []) and items[1][1][2][1][0][1][0][1] == a0


def test_cs14_alert_is_the_rtds_alert_byte_for_byte(keys):
    from firmware.hub import alerts

    path = os.path.join(C.RTDS, "NA_CS14", "CS14_NA_8F12_ALERT_GBCS.HEX")
    want = C.load_hex(path)
    w = frame.parse(want)
    with tempfile.TemporaryDirectory() as d:
        hub = _hub(keys, d)
        hub.devlog.set_pan(bytes.fromhex("0001020304050607"))  # the RTDS dummy PAN identifier
        hk = bytes.fromhex("83fed3407a939723a5c639b26916d506")
        hub.devlog.restore(hub.devlog.pan(), [(bytes.fromhex("00db1234567890a0"), hk),
                                              (bytes.fromhex("00db1234567890a1"), hk[:15] + b"\x05")],
                           chf_rtds.RTDS_TIME)
        code, when, payload = hub.devlog.pending()[-1]
        got = alerts.build(hub.trust, hub.store, code, when, payload, counter=w.counter)
        assert got == want
        # without a given counter: the hub's own durable alert counter, advanced per alert
        a1 = frame.parse(alerts.build(hub.trust, hub.store, code, when, payload))
        a2 = frame.parse(hub.alerts()[-1])
        assert a2.counter == a1.counter + 1 and a2.content[5:] == w.content[5:]


def test_smlab_rtds_role_chf_json(tmp_path):
    assert "chf" in runner.ROLES
    from conftest import smlab_runner

    rep = json.loads(smlab_runner(tmp_path)("rtds", "--role", "chf", "--json").stdout)
    assert rep["commands"] == 32 and rep["authenticated"] == 32 and rep["verified"] == 32
    assert rep["success_content_equal"] == 17 and rep["error_content_equal"] == 15
