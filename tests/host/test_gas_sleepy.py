"""The sleepy GSME and its GPF (firmware/gas/sleepy.py, firmware/gas/gpf.py; docs/gas.md "Sleepy
GSME", "GPF"): in process on a virtual clock over the in-memory tunnel medium
(host_tools/gbcs/gas_premises.py). A queued command waits for the GSME's next wake and its verified
response comes back then; a GPF read is answered at once from the mirror; the queue's 24 h lifetime
with its "not retrieved" event, the pending flag, the flush on removal, a refused message not handed
over twice; tap-off pairs applied to the mirror only when every component succeeded; the GCS62
backup alert verified on the host. Skips when ../shared/interop is absent."""
import os
import sys
import tempfile

import pytest

from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")

from host_tools.util import ROOT  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "bench"))
import bench_gas_sleepy  # noqa: E402
from host_tools.gbcs.gas_premises import GSME, InProcessPremises, rtds_command  # noqa: E402

CMD = "GCS13a_4.1.1_SUCCESS_UNRELIABLE_COMMAND_GBCS.HEX"


@pytest.fixture
def prem():
    with tempfile.TemporaryDirectory() as d:
        p = InProcessPremises(d)
        p.advance(1)
        yield p


def test_latency_is_the_wait_for_the_next_wake_and_gpf_reads_are_immediate():
    with tempfile.TemporaryDirectory() as d:
        bad_lat, bad_read, lat, awake, seen, _ = bench_gas_sleepy.run(wakes=12, seed=3, workdir=d)
    assert seen >= 12 and len(lat) >= 10
    assert bad_lat == 0 and bad_read == 0
    assert all(0 < x <= bench_gas_sleepy.INTERVAL for x in lat)


def test_queue_pending_flag_lifetime_and_not_retrieved(prem):
    from firmware.gas import gpf

    g = prem.gpf
    assert gpf.pending(g) == 0
    prem.gsme.gas.st["wi"] = 3 * 86400  # a GSME that will not wake for 3 days
    w = prem.gsme.gas.begin()
    w["wi"] = 3 * 86400
    w["wk"] = prem.gsme.now() + 3 * 86400
    prem.gsme.gas.commit()
    prem.queue_for_gsme(CMD, 6000)
    assert gpf.pending(g) == gpf.TUNNEL_PENDING
    prem.advance(86400 - 60)
    assert g.poll() == 0 and gpf.pending(g)  # within its lifetime: kept
    prem.advance(120)
    assert g.poll() == 1 and gpf.pending(g) == 0
    assert any(e[0].startswith("GSME command not retrieved") for e in g.gas.st["ev"])
    n = len(prem.out)
    prem.advance(3 * 86400)
    assert len(prem.out) == n  # the GSME woke: nothing was left to fetch


def test_removal_flushes_the_queue(prem):
    from firmware.gas import gpf

    prem.queue_for_gsme(CMD, 6001)
    prem.queue_for_gsme(CMD, 6002)
    gpf.remove(prem.gpf)
    assert gpf.pending(prem.gpf) == 0 and gpf.get(prem.gpf) == b"\x02\x00"
    assert sum(e[0].startswith("GSME command not retrieved") for e in prem.gpf.gas.st["ev"]) == 2


def test_several_queued_fetched_in_order_and_a_refused_one_not_handed_over_twice(prem):
    from firmware.gbcs import frame

    prem.queue_for_gsme(CMD, 6010)
    prem.queue_for_gsme(CMD, 6005)  # a replay at the GSME (lower counter): refused, no PUT
    prem.queue_for_gsme(CMD, 6011)
    w = prem.advance(prem.next_wake() - prem.clock.t)
    assert w[-1][1:] == (3, 2)
    assert [frame.parse(m).counter for _, m in prem.out] == [6010, 6011]
    assert prem.gpf.gas.st["gq"] == []
    w = prem.advance(prem.next_wake() - prem.clock.t)
    assert w[-1][1:] == (0, 0)


def _pair(name):
    from firmware.gbcs import frame  # noqa: F401

    f, _ = rtds_command(name + "_COMMAND_GBCS.HEX")
    return C.load_hex(f), C.load_hex(C.response_for(f))


def test_tap_off_applied_only_when_every_component_succeeded(prem):
    """GCS23 (PublishConversionFactor + PublishCalorificValue, a TOM): the SUCCESS pair changes the
    mirror in the same write that takes the message off the queue; the ERROR pair (second component
    HARDWARE_FAILURE) takes it off but leaves the mirror as it was."""
    from firmware.gas import gpf

    g = prem.gpf
    raw, rsp = _pair("GCS23_6.6_ERROR")
    gpf.queue(g, raw)
    before = gpf._canon({k: g.gas.st[k] for k in ("a", "p", "cfg")})
    assert gpf.put(g, rsp) == raw
    assert gpf._canon({k: g.gas.st[k] for k in ("a", "p", "cfg")}) == before
    assert g.gas.st["gq"] == [] and g.gas.st["ev"][-1][0] == "TOM 007C not actioned"
    raw, rsp = _pair("GCS23_6.6_SUCCESS")
    gpf.queue(g, raw)
    assert gpf.put(g, rsp) == raw
    assert gpf._canon({k: g.gas.st[k] for k in ("a", "p", "cfg")}) != before
    assert g.gas.st["gq"] == [] and g.gas.st["ev"][-1][0] == "TOM 007C actioned"
    assert gpf.put(g, rsp) is None  # the same response again: nothing queued answers it


def test_gcs62_backup_alert_verifies(prem):
    from cryptography.hazmat.primitives.asymmetric import ec
    from firmware.crypto.gmac import gbcs_mac
    from firmware.gbcs import frame, parties as P
    from firmware.gas import gpf
    from host_tools.gbcs.gas_premises import ACB, GPF

    g = prem.gpf
    w = g.gas.begin()
    w["dl"] = [["0011223344556677", 5], ["8899aabbccddeeff", 6]]
    g.gas.commit()
    raw = gpf.backup_alert(g)
    m = frame.parse(raw)
    assert m.message_code == 0x00B2 and m.recipient == ACB and m.originator == GPF
    c = bytes(m.content)
    assert c[2:7] == b"\x02\x03\x00\x80\x71" and bytes.fromhex("0011223344556677") in c
    priv = prem.keys.parties[ACB].priv["ka"]
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), prem.keys.device_pub(GPF, "ka"))
    z = priv.exchange(ec.ECDH(), pub)
    assert gbcs_mac(z, GPF, P.U_ALERT, frame.u64(m.counter), ACB, m.mac_aad(), 12) == bytes(m.mac)


def test_gcs62_content_equals_rtds_for_its_device_log():
    """With the Device Log RTDS's NA_GCS62 alert lists (restored as by GCS59) and the GPF's clock at
    the corpus time, the alert's content is RTDS's byte for byte."""
    from firmware.gbcs import frame
    from firmware.gas import gpf

    f, rt = rtds_command("GCS62_NA_8071_ALERT_GBCS.HEX")
    c = bytes(rt.content)
    with tempfile.TemporaryDirectory() as d:
        p = InProcessPremises(d)  # clock at 2015-01-01 00:00:00 UTC
        g = p.gpf
        ents, q = [], c.find(b"\x30\x0d\x04\x08")
        while q >= 0:
            ents.append([c[q + 4:q + 12].hex(), c[q + 14]])
            q = c.find(b"\x30\x0d\x04\x08", q + 15)
        assert len(ents) == 6
        w = g.gas.begin()
        w["dl"] = ents
        g.gas.commit()
        assert bytes(frame.parse(gpf.backup_alert(g)).content) == c
