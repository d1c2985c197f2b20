"""The Gas Proxy Function (firmware/roles/gpf.py, firmware/gas/gpf.py) against RTDS: the GPF
00DB1234567890A3 authenticates every RTDS command addressed to it (counted from the corpus) and
answers with verified responses equal to RTDS in content (provisioned by the bench static-ECDH
technique, its mirror seeded from the corpus, host_tools/gbcs/gpf_rtds.py); its reads carry the GSME
clock time of the mirror data; `smlab rtds --role gpf --json` reports the same counts. Skips when
../shared/interop is absent."""
import json
import os
import subprocess
import sys
import tempfile

import pytest

from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")

from firmware.gbcs import frame  # noqa: E402
from host_tools.gbcs import gpf_rtds, runner  # noqa: E402
from host_tools.util import ROOT  # noqa: E402

GPF = bytes.fromhex("00db1234567890a3")


@pytest.fixture(scope="module")
def keys():
    return C.Keystore(C.KEYSTORE)


@pytest.fixture(scope="module")
def report(keys):
    dev = gpf_rtds.in_process(keys)
    top, _ = runner.locate()
    return runner.run(dev, dev.role, runner.use_cases(top, GPF), keys)


def _corpus_count():
    n, folders = 0, set()
    for f in C.corpus_files():
        name = os.path.basename(f)
        if name.endswith("_COMMAND_GBCS.HEX") and "PRECOMMAND" not in name:
            if frame.parse(C.load_hex(f)).recipient == GPF:
                n += 1
                folders.add(os.path.basename(os.path.dirname(f)))
    return n, len(folders)


def test_gpf_answers_every_rtds_command(report):
    n, folders = _corpus_count()
    assert (n, folders) == (17, 11)
    assert report["commands"] == n and report["use_case_count"] == folders
    assert report["authenticated"] == report["verified"] == n
    assert report["success_total"] == 16 and report["success_content_equal"] == 16
    other = [r for u in report["use_cases"] for r in u["results"] if r["variant"] not in ("SUCCESS", "ERROR")]
    assert [r["file"] for r in other] == ["GCS61_4.17_NOT_FOUND_COMMAND_GBCS.HEX"]
    assert other[0]["content_equal"] is True


def _gpf(keys, tmp):
    from firmware import roles
    from firmware.store.durable import Store

    st = Store(tmp)
    gpf_rtds.GpfRole().provision_store(st, keys)
    return roles.build("gpf", gpf_rtds.RtdsBoard(), st)


def _cmd(name):
    top, _ = runner.locate()
    for uc in runner.use_cases(top, GPF):
        for c in uc.commands:
            if c.name.endswith(name):
                return c
    raise KeyError(name)


def test_a_read_carries_the_gsme_clock_time_of_the_mirror_data(keys):
    """GCS13a answered from a mirror the GSME reported at its clock time T: the response's date-time
    is T (not the GPF's clock), status 0x00 while the clocks agree, 0x04 when the GSME's clock was
    off; the register read is the reported one."""
    from firmware.gas import gpf
    from firmware.gas.model import GasModel
    from firmware.store.durable import Store
    from firmware.gbcs import gbz, gbzinfo

    with tempfile.TemporaryDirectory() as d:
        dev = _gpf(keys, os.path.join(d, "gpf"))
        gsme = GasModel(Store(os.path.join(d, "gsme")))
        w = gsme.begin()
        gsme.set_attr(w, 0x0702, 0x0000, 0x25, (123456).to_bytes(6, "little"))
        gsme.set_attr(w, 0x0702, 0x0302, 0x22, (1000).to_bytes(3, "little"))
        gsme.commit()
        now = dev.now()
        t_gsme = now - 1800 + 30  # the GSME reported half an hour ago, its clock 30 s ahead
        assert gpf.report(dev, gpf.build_report(gsme, t_gsme), now - 1800) >= 3
        c = _cmd("GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_COMMAND_GBCS.HEX")  # counter 1000
        r = frame.parse(dev.process(c.raw))
        from firmware.hub.alerts import dlms_datetime

        assert bytes(r.date_time) == dlms_datetime(t_gsme + 946684800)[:11] + b"\x04"
        comp = gbz.parse(bytes(r.content)).components[0]
        pl = gpf_rtds_plain(keys, r, comp)
        recs = {a: (st, v) for a, st, _, v in gbzinfo.attribute_records(pl)}
        assert recs[0x0000] == (0, (123456).to_bytes(6, "little"))
        assert recs[0x0302] == (0, (1000).to_bytes(3, "little"))
        gpf.report(dev, gpf.build_report(gsme, now), now)
        c2 = _cmd("GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX")  # counter 1001
        r2 = frame.parse(dev.process(c2.raw))
        assert bytes(r2.date_time)[-1] == 0x00


def gpf_rtds_plain(keys, rsp, comp):
    from host_tools.gbcs.gsme_rtds import plaintext

    return plaintext(keys, GPF, rsp, comp)


def test_gpf_refuses_to_act_on_the_meter(keys):
    """A valve command addressed to the GPF is not the GPF's: answered UNSUP_CLUSTER_COMMAND, the
    mirror unchanged."""
    from firmware.gas import gpf
    from firmware.gbcs import gbz

    with tempfile.TemporaryDirectory() as d:
        dev = _gpf(keys, os.path.join(d, "gpf"))
        c = _cmd("GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX")
        m = frame.parse(c.raw)  # the command with a ChangeSupply component instead (the content hook)
        m.content = gbz.build(gbz.Gbz([gbz.Component(0x0702, 0x01, 0, 0x0B, bytes(16) + b"\x00\x00")]))
        before = dict(dev.gas.st["a"])
        out = gbz.parse(gpf.answer(dev, m, 2, dev.seclog)).components
        assert out[0].cmd == 0x0B and out[0].payload == b"\x0b\x81"
        assert dev.gas.st["a"] == before


def test_smlab_rtds_role_gpf_json(report):
    assert "gpf" in runner.ROLES
    p = subprocess.run([sys.executable, "-c", "from host_tools.cli import main; main()", "rtds", "--role", "gpf", "--json"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    if p.returncode not in (0, 1):
        pytest.fail(p.stderr[-500:])
    d = json.loads(p.stdout)
    for k in ("commands", "authenticated", "verified", "success_content_equal", "error_content_equal"):
        assert d[k] == report[k], k


def test_powercut_vector_is_the_rtds_gpf(keys):
    """tests/vectors/gas/gpf_rtds.json (the GPF power-cut campaign's GPF) is today's provisioning
    payload of the RTDS GPF and its RTDS commands."""
    from host_tools.gbcs.gas_premises import rtds_command

    with open(os.path.join(ROOT, "tests", "vectors", "gas", "gpf_rtds.json")) as f:
        v = json.load(f)
    assert v["payload"] == gpf_rtds.GpfRole().payload(keys)
    for k, name in (("GCS13a", "GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX"),
                    ("GCS59", "GCS59_8.12.2_SUCCESS_COMMAND_GBCS.HEX"),
                    ("GCS23", "GCS23_6.6_SUCCESS_COMMAND_GBCS.HEX")):
        assert bytes.fromhex(v["commands"][k]) == C.load_hex(rtds_command(name)[0])


def test_virtual_board_gpf(tmp_path):
    """The GPF on a virtual board (flashed, provisioned by the runner, its mirror seeded through its
    raw REPL: GpfRole.board_prep): every command authenticated and verified; SUCCESS content equal
    but for the SupplierBySupplier handover, whose prior state (supplier cells holding the ACB's
    keys) is not seeded on a board because the bench HHT logs in there with the supplier's
    credential."""
    assert "gpf" in runner.ROLES and hasattr(runner.ROLES["gpf"], "board_prep")
    from conftest import BIN, smlab_runner

    run = smlab_runner(tmp_path / "home")
    run("sim", "start", "gp", "--eui", GPF.hex())
    try:
        run("flash", "sim:gp")
        r = subprocess.run([os.path.join(BIN, "smlab"), "rtds", "sim:gp", "--role", "gpf", "--json"],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, SMLAB_HOME=str(tmp_path / "home")))
        assert r.returncode in (0, 1), r.stderr[-500:]
        d = json.loads(r.stdout)
    finally:
        run("sim", "stop", check=False)
    assert d["device"] == "board" and d["commands"] == 17
    assert d["authenticated"] == d["verified"] == 17
    assert d["success_total"] == 16 and d["success_content_equal"] == 15
