"""Robustness of the ESME after authentication (gbcs.md §7): authentic (ACB-MAC'd) non-critical
commands whose DLMS content is arbitrary or a mutated RTDS request must be answered (a response) or
rejected with a typed Reject, never crash; and arbitrary byte strings must be refused as Reject.
Hypothesis-generated; skips when ../shared is absent."""
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from host_tools.gbcs import corpus as R

pytestmark = pytest.mark.skipif(not R.available(), reason="../shared RTDS corpus not present")

from firmware.alerts import Reject  # noqa: E402
from firmware.gbcs import dlms, frame  # noqa: E402
from firmware.gbcs import dlms_client  # noqa: E402
from firmware.roles.esme import Esme, RTDS_CLOCK  # noqa: E402
from firmware.store.durable import Store  # noqa: E402
from host_tools.gbcs import verify as V  # noqa: E402

SUPPLIER = bytes.fromhex("90b3d51f30010000")
SEEDS = [bytes.fromhex(h) for h in (
    "d9200003e8000103000900000a006aff0101120033",
    "d9200003e80001010046000060030aff030100",
    "d9200003ea000302006f0001130000ff0202006f0001130000ff0b02006f0001130000ff0d030202160116010102"
    "020309060000130a00ff09060000131400ff0403e0020309060000130a00ff09060000131404ff0403e0090c0000"
    "000000000000008000ff")]

_state = {}


def _esme():
    if "e" not in _state:
        d = tempfile.mkdtemp()
        s = Store(d)
        R.provision_rtds_esme(s)
        ks = R.keystore()
        _state.update(e=Esme(s, clock=lambda: RTDS_CLOCK), ctr=1,
                      acb=ks.parties[bytes.fromhex("90b3d51f30000002")].priv["ka"],
                      dev=ks.device_pub(R.ESME_EUI, "ka"))
    return _state


def _send(content, code=0x52):
    s = _esme()
    s["ctr"] += 1
    raw = V.build_command(SUPPLIER, R.ESME_EUI, s["ctr"], code, content, acb_ka_priv=s["acb"],
                          device_ka_pub=s["dev"])
    try:
        out = s["e"].process(raw)
    except Reject:
        return None
    r = frame.parse(out)
    assert r.counter == s["ctr"] and r.mac_header
    return r


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=80))
def test_arbitrary_authentic_content_answered(body):
    r = _send(b"\xd9" + body)
    assert r is not None  # authenticated: always an answer
    if r.content[:1] == b"\xda":
        dlms_client.parse_response(r.content)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)),
                                        min_size=1, max_size=4))
def test_mutated_requests_answered_per_item(seed, muts):
    c = bytearray(seed)
    for i, v in muts:
        c[i % len(c)] = v
    r = _send(bytes(c))
    assert r is not None
    try:
        req = dlms.parse_request(bytes(c))
    except Reject:
        return
    inv, data, res = dlms_client.parse_response(r.content)
    assert len(res) == len(req.specs)
    # a MAC-only command never reaches the signed-only objects
    for (kind, cid, obis, ident), (k, rc) in zip(req.specs, res):
        if (cid, obis) in ((9, b"\x00\x00\x0a\x00\x6a\xff"), (111, b"\x00\x01\x13\x00\x00\xff")) \
                and kind in (2, 3):
            assert rc != 0
    assert _state["e"].model.supply == "connected" and _state["e"].model.payment_mode == "credit"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_rejected(b):
    with pytest.raises(Reject):
        _esme()["e"].process(b)
