"""Negative tests of the ESME pipeline on RTDS commands (gbcs.md §6): sampled single-bit flips of the
implemented commands rejected with the right reason and no state change (full sweep:
bench/bench_gbcs_bitflip.py); flips behind a recomputed MAC caught by the KRP signature; replay,
other EUI, unsigned critical command; security-log entries. Skips when ../shared is absent."""
import os
import tempfile

import pytest

from host_tools.gbcs import corpus as R

pytestmark = pytest.mark.skipif(not R.available(), reason="../shared RTDS corpus not present")

from firmware.alerts import Reject, AUTH_FAILED, UNUSUAL_COMMANDS  # noqa: E402
from firmware.gbcs import frame  # noqa: E402
from firmware.roles.esme import Esme, RTDS_CLOCK  # noqa: E402
from firmware.store.durable import Store  # noqa: E402
from host_tools.gbcs import negative as N  # noqa: E402
from host_tools.gbcs import verify as V  # noqa: E402

CMDS = ["7.1_ECS42/ECS42_7.1_SUCCESS_COMMAND_GBCS.HEX", "7.2_ECS43/ECS43_7.2_SUCCESS_COMMAND_GBCS.HEX",
        "7.3_ECS44/ECS44_7.3_SUCCESS_COMMAND_GBCS.HEX", "7.4_ECS45/ECS45_7.4_SUCCESS_COMMAND_GBCS.HEX",
        "1.6_ECS02/ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX",
        "1.6_ECS03/ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX"]


@pytest.fixture
def esme():
    with tempfile.TemporaryDirectory() as tmp:
        st = Store(tmp)
        R.provision_rtds_esme(st)
        yield Esme(st, clock=lambda: RTDS_CLOCK)


def _remac():
    ks = R.keystore()
    acb = ks.parties[bytes.fromhex("90b3d51f30000002")].priv["ka"]
    dev = ks.device_pub(R.ESME_EUI, "ka")
    return lambda raw: V.remac(raw, acb, dev)


def _state(e):
    return (e.model.supply, e.model.payment_mode, e.store.get_json("meter"),
            e.trust.counter(2, bytes.fromhex("90b3d51f30010000")).value)


@pytest.mark.parametrize("rel", CMDS)
def test_sampled_bit_flips(esme, rel):
    raw = R.load_hex(os.path.join(R.RTDS, rel))
    before = _state(esme)
    step = 11 if len(raw) < 300 else 29
    counts, wrong, accepted = N.sweep(esme, raw, range(3, len(raw) * 8, step))
    assert not accepted and not wrong, (wrong, accepted)
    assert {r for r, _ in counts} >= {"header", "counter", "recip", "content", "mac"}
    assert _state(esme) == before
    esme.process(raw)  # intact command still accepted: no flip advanced the counter


@pytest.mark.parametrize("rel", CMDS[:1] + CMDS[4:5])
def test_flips_behind_valid_mac_fail_signature(esme, rel):
    raw = R.load_hex(os.path.join(R.RTDS, rel))
    counts, wrong, accepted = N.sweep(esme, raw, range(0, len(raw) * 8, 7), remac=_remac(),
                                      only=("counter", "code", "content", "sig"))
    assert not accepted and not wrong, (wrong, accepted)
    assert sum(n for (r, why), n in counts.items() if why == "signature") > 40


def test_replay_other_eui_unsigned_and_log(esme):
    raw = R.load_hex(os.path.join(R.RTDS, CMDS[0]))
    esme.process(raw)
    n0 = len(esme.seclog.entries())
    with pytest.raises(Reject) as x:
        esme.process(raw)
    assert (x.value.reason, x.value.code) == ("replay", UNUSUAL_COMMANDS)
    # same command for another EUI (re-MAC'd would not matter: the target check comes first)
    m = frame.parse(raw)
    m.recipient = bytes.fromhex("00db1234567890a1")
    with pytest.raises(Reject) as x:
        esme.process(frame.build(m))
    assert x.value.reason == "target"
    # critical command stripped of its signature, MAC recomputed with the published ACB key
    m = frame.parse(raw)
    m.signature = b""
    m.counter += 1
    frame.build(m)
    stripped = _remac()(m.raw)
    with pytest.raises(Reject) as x:
        esme.process(stripped)
    assert (x.value.reason, x.value.code) == ("signature-missing", AUTH_FAILED)
    log = esme.seclog.entries()
    assert len(log) == n0 + 3 and log[-1].startswith("signature-missing 8F3D from 90b3d51f30010000")
