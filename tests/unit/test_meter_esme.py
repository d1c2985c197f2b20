"""ESME secure command processing (firmware/roles/esme.py: firmware/core + firmware/meter; gbcs.md §3, §6,
§7) on the project's own fixtures: commands built and signed on the host with independent crypto
(tests/vectors/gbcs/make_fixtures.py) for device 02534D4C01010001.

Heap: the pipeline's own working set is small, but on the unix port every imported module's bytecode
lives on the heap (≈100 KB for store + crypto + gbcs + meter as source; on an ESP32 they are frozen
into flash). bench/bench_gbcs_pipeline.py measures the working set under a heap limit.
"""
MP_HEAPSIZE = "256K"
import os
from binascii import hexlify

import _t
from firmware.alerts import Reject, AUTH_FAILED, UNUSUAL_COMMANDS, UNAUTHORISED_ACCESS, NO_AUTHORITY
from firmware.gbcs import dlms, frame
from firmware.gbcs import dlms_client
from firmware.core import trust
from firmware.core import provision as factory
from firmware.roles.esme import Esme
from firmware.store.durable import Store


from gbcs_fixtures import vec, keys  # noqa: E402


class Dev:
    """A provisioned ESME in a temporary store."""

    def __enter__(self):
        self.root = "/tmp/smlab-esme-" + hexlify(os.urandom(6)).decode()
        k = self.k = keys()
        st = Store(self.root)
        factory.provision(st, _t.unhex(k["device"]), _t.unhex(k["device_ka"]),
                           _t.unhex(k["device_ds"]), [trust.Cell.from_json(c) for c in k["cells"]])
        self.store = st
        self.esme = Esme(st, clock=lambda: _t.unhex(k["clock"]))
        return self

    def __exit__(self, *a):
        _t.rmtree(self.root)

    def counter(self):
        return self.esme.trust.counter(2, _t.unhex(self.k["supplier"])).value

    def log_len(self):
        return len(self.esme.seclog.entries())


def _verify_response_signature(k, raw):
    import hashlib
    from firmware.crypto import p256

    r = frame.parse(raw)
    h = hashlib.sha256(bytes(r.signed())).digest()
    return p256.verify(_t.unhex(k["device_ds_pub"]), h, r.signature)


def test_load_switch_use_cases_and_signed_responses():
    with Dev() as d:
        e = d.esme
        raw = e.process(vec("cmd_ecs42"))
        r = frame.parse(raw)
        assert not r.mac_header and r.cra == frame.CRA_RESPONSE and r.counter == 0x10
        assert r.originator == _t.unhex(d.k["device"]) and r.recipient == _t.unhex(d.k["supplier"])
        assert r.message_code == 0x4F and r.date_time is None
        assert _t.hexs(r.content) == "da2000001000000100010300"
        assert _verify_response_signature(d.k, raw)
        assert e.model.supply == "connected" and d.counter() == 0x10
        # ECS45 (MAC'd): byte-identical to the response computed on the host
        assert e.process(vec("cmd_ecs45")) == vec("resp_ecs45")
        e.process(vec("cmd_ecs43"))
        assert e.model.supply == "disconnected"
        e.process(vec("cmd_ecs44"))
        assert e.model.supply == "armed"
        assert e.model.button_press() and e.model.supply == "connected"
        assert d.counter() == 0x13


def test_payment_mode_use_case_with_long_content():
    with Dev() as d:
        d.store.get("meter")
        seq0 = d.store._newest.get("R.meter", (0, 0))[1]
        raw = d.esme.process(vec("cmd_ecs03"))
        # mode, credit/charge configuration and thresholds: one write (whole or nothing on a cut)
        assert d.store._newest["R.meter"][1] == seq0 + 1
        r = frame.parse(raw)
        assert r.date_time == _t.unhex(d.k["clock"])  # ECS03 responses carry the date-time
        inv, data, res = dlms_client.parse_response(r.content)
        assert inv == 0x20000015 and res == [(2, 0)] * 3
        assert d.esme.model.payment_mode == "prepayment"
        assert len(d.esme.model.account["credit_charge_configuration"]) == 13
        assert _verify_response_signature(d.k, raw)


def test_unknown_objects_and_scope_get_dlms_errors():
    with Dev() as d:
        r = frame.parse(d.esme.process(vec("cmd_unknown")))
        assert r.mac_header  # MAC-only command: MAC'd response
        inv, data, res = dlms_client.parse_response(r.content)
        # GET of an undefined object; a MAC-only command may not reach the load switch
        assert res == [(dlms.GET, dlms.OBJECT_UNDEFINED), (dlms.ACTION, dlms.SCOPE_OF_ACCESS_VIOLATED)]
        assert d.esme.model.supply == "connected"


def test_replay_rejected_without_state_change():
    with Dev() as d:
        e = d.esme
        e.process(vec("cmd_ecs43"))  # counter 0x12
        n = d.log_len()
        for name in ("cmd_ecs43", "cmd_ecs42"):  # equal, then lower counter
            x = _t.raises(Reject, e.process, vec(name))
            assert x.reason == "replay" and x.code == UNUSUAL_COMMANDS
        assert e.model.supply == "disconnected" and d.counter() == 0x12
        assert d.log_len() == n + 2
        # state survives a reload: a new Esme on the same store still refuses the replay
        e2 = Esme(Store(d.root))
        assert _t.raises(Reject, e2.process, vec("cmd_ecs43")).reason == "replay"


def test_other_eui_unsigned_critical_and_unknown_party():
    with Dev() as d:
        e = d.esme
        x = _t.raises(Reject, e.process, vec("cmd_other_eui"))
        assert x.reason == "target" and x.code == UNAUTHORISED_ACCESS
        x = _t.raises(Reject, e.process, vec("cmd_ecs42_unsigned"))
        assert x.reason == "signature-missing" and x.code == AUTH_FAILED
        m = frame.parse(vec("cmd_ecs45"))
        m.originator = _t.unhex("02534d4c00000299")
        x = _t.raises(Reject, e.process, frame.build(m))
        assert x.reason == "originator" and x.code == NO_AUTHORITY
        m = frame.parse(vec("cmd_ecs45"))
        m.cra = frame.CRA_ALERT
        assert _t.raises(Reject, e.process, frame.build(m)).reason == "not-command"
        assert d.counter() == 0 and e.model.supply == "connected" and d.log_len() == 4


def test_sampled_bit_flips_rejected_with_reason():
    """Every 5th bit of the ECS42 command (full sweep: bench/bench_gbcs_bitflip.py)."""
    with Dev() as d:
        e = d.esme
        b = vec("cmd_ecs42")
        m = frame.parse(b)
        seen = {}
        for bit in range(0, len(b) * 8, 5):
            c = bytearray(b)
            c[bit >> 3] ^= 0x80 >> (bit & 7)
            x = _t.raises(Reject, e.process, bytes(c))
            i = bit >> 3
            if i >= len(b) - 12 or m.signed_end <= i < m.sig_end and i > m.signed_end:
                assert x.reason == "mac", (bit, x.reason)  # MAC and signature bytes
            elif m.gs_start + 30 < i < m.signed_end and i != m.gs_start + 33:
                assert x.reason in ("mac", "format"), (bit, x.reason)
            seen[x.reason] = seen.get(x.reason, 0) + 1
        assert d.counter() == 0 and e.model.supply == "connected"
        assert "mac" in seen and "format" in seen and "target" in seen
        e.process(b)  # the intact command still works: no flip changed state
        assert d.counter() == 0x10
