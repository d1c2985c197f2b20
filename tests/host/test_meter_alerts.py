"""The ESME's model alerts as GBCS messages (firmware/meter/alertmsg.py; gbcs.md §7.9): the RTDS
future-dated ECS02 command run in process, its activation reached in meter time by the metering
engine, and the queued 0x8F66 alert built as the device's signed alert equals the RTDS alert byte for
byte up to the signature, which verifies with the ESME's DS key (host crypto). Generic critical and
non-critical alerts verify too (signature / MAC with the supplier's KA key)."""
import os

import pytest

from firmware.gbcs import frame
from firmware.meter import alertmsg, clock as C, engine as E
from firmware.roles.esme import Esme, RTDS_CLOCK
from firmware.store.durable import Store
from host_tools.gbcs import corpus as R
from host_tools.gbcs import verify as V

pytestmark = pytest.mark.skipif(not R.available(), reason="../shared RTDS corpus not present")
FOLDER = os.path.join(R.RTDS, "1.6_ECS02")
AT = C.days_from_civil(2030, 1, 15) * 86400 + 9 * 3600


def _hex(name):
    with open(os.path.join(FOLDER, name)) as f:
        return bytes.fromhex(f.read().strip())


@pytest.fixture
def esme(tmp_path):
    st = Store(str(tmp_path / "s"))
    R.provision_rtds_esme(st)
    return Esme(st, clock=lambda: RTDS_CLOCK), st


def test_future_dated_alert_equals_rtds(esme):
    e, st = esme
    e.process(_hex("ECS02_1.6_FUTURE_DATED_TWIN_SUCCESS_COMMAND_GBCS.HEX"))  # (the pre-command is
    # the unsigned form the DCC signs, not for the device)
    pm = e.model.account.get("pending_mode")
    assert pm and pm["mode"] == "credit" and pm["mc"] == 0x1A and pm["ctr"] == 1005
    eng = E.Engine(st, e.model, None, None, AT - 3600)
    eng.poll(AT - 60)
    assert e.model.account.get("pending_mode") and eng.alerts() == []
    for t in range(AT - 1800, AT + 1801, 900):
        eng.poll(t)
    assert e.model.account.get("pending_mode") is None and e.model.payment_mode == "credit"
    (entry,) = [a for a in eng.alerts() if a[2] == E.FD_OK]
    raw = alertmsg.build(e.trust, st, entry, counter=2002)
    want = _hex("ECS02_1.6_8F66_FUTURE_DATED_TWIN_SUCCESS_ALERT_PAYMENT_MODE_GBCS.HEX")
    assert raw[:-64] == want[:-64]
    assert V.verify_signature(R.esme_ds_pub(), frame.parse(raw))
    assert not V.verify_signature(R.esme_ds_pub(), frame.parse(raw[:-1] + bytes((raw[-1] ^ 1,))))


def test_generic_alerts_signed_or_macd(esme):
    e, st = esme
    crit = frame.parse(alertmsg.build(e.trust, st, [1, AT, E.BELOW_DISABLEMENT, ""]))
    assert crit.message_code == 0x1000 and crit.cra == frame.CRA_ALERT and b"\x12\x8f\x0f" in crit.content
    assert V.verify_signature(R.esme_ds_pub(), crit)
    m = frame.parse(alertmsg.build(e.trust, st, [2, AT, E.LOW_CREDIT, ""]))
    assert m.message_code == 0x1001 and not m.signature and m.counter == crit.counter + 1
    sup_ka = R.keystore().private_key("90b3d51f30010000-ka")
    assert V.verify_mac(m, sup_ka, _esme_ka_pub())
    bad = frame.parse(alertmsg.build(e.trust, st, [3, AT + 1, E.LOW_CREDIT, ""]))
    bad.mac = bytes(12)
    assert not V.verify_mac(bad, sup_ka, _esme_ka_pub())


def _esme_ka_pub():
    from cryptography.hazmat.primitives.asymmetric import ec

    k = ec.derive_private_key(int.from_bytes(R.esme_ka_priv(), "big"), ec.SECP256R1())
    return R.pub_bytes(k.public_key())
