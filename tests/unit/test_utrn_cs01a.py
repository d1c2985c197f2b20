"""CS01a through the ESME pipeline (firmware/utrn/cs01a.py + the ESME role, firmware/roles/esme.py) on
the RTDS corpus (shared/reference/gbcs.md §7.6, §9): a fresh ESME 00DB1234567890A0 answers the RTDS CS01a
SUCCESS command byte-identically (the response is MAC'd with a0's published KA key); the ERROR
command carries a valid UTRN (counter 5, £10) and yields the corpus ERROR response byte-identically
when the device's maximum credit threshold is below £10 (or its balance is within £10 of the maximum
meter balance) - documented in docs/utrn.md. CS01a counters stay out of the supplier's command
counter. Heap as test_gbcs_rtds.py (the pipeline with P-256 ECDH). Skips without ../shared.
"""
MP_HEAPSIZE = "256K"
import json
import os
from binascii import hexlify

import _t
from firmware.alerts import Reject
from firmware.store.durable import Store
from firmware.core import trust
from firmware.core import provision as factory
from firmware.gbcs import parties
from firmware.roles.esme import Esme, RTDS_CLOCK
from firmware.gbcs import frame
from firmware.utrn import cs01a

CS01A = "interop/rtds/RTDS-4.5.0/2.2_CS01a/CS01a_2.2_"


def _load(name):
    with open(_t.shared_path(CS01A + name + "_GBCS.HEX")) as f:
        return _t.unhex(f.read().strip())


def _vec():
    with open(_t.ROOT + "/tests/vectors/utrn/rtds_a0.json") as f:
        return json.load(f)


def _ka_key():
    # a0's published KA private key (keystore/00db1234567890a0-ka.key, extracted into the vector
    # file by host_tools/codes/vectors.py; tests/host/test_utrn_host.py checks it regenerates)
    return _t.unhex(_vec()["device_ka_private"])


class A0:
    """A fresh ESME a0 provisioned with the RTDS trust anchors, CS01a installed."""

    def __init__(self, **cfg):
        ka = _ka_key()
        with open(_t.ROOT + "/tests/vectors/gbcs/rtds_cells.json") as f:
            j = json.load(f)
        self.root = "/tmp/smlab-cs01a-" + hexlify(os.urandom(6)).decode()
        st = Store(self.root)
        factory.provision(st, _t.unhex(j["esme"]), ka, _t.unhex(j["esme_ds"]),
                           [trust.Cell.from_json(c) for c in j["cells"]])
        self.esme = Esme(st, clock=lambda: RTDS_CLOCK)
        self.acc = cs01a.install(self.esme, clock=lambda: 1420070400)
        if cfg:
            self.acc.configure(**cfg)

    def close(self):
        _t.rmtree(self.root)


def test_cs01a_success_response_byte_identical():
    d = A0()
    try:
        assert d.esme.process(_load("SUCCESS_COMMAND")) == _load("SUCCESS_RESPONSE")
        assert d.acc.balance == 1000 and d.acc.cache == [3]
        # the UTRN counter 3 << 32 did not touch the supplier's command counter
        assert d.esme.trust.counter(parties.SUPPLIER, _t.unhex("90b3d51f30010000")).value == 0
        # the same command again: authentic, but the UTRN is used -> action result 01, no credit
        r = frame.parse(d.esme.process(_load("SUCCESS_COMMAND")))
        assert r.content[-1] == 1 and d.acc.balance == 1000
        assert "rej remote 0x8F51 duplicate c=3" in d.acc.log.entries()[-1]
    finally:
        d.close()


def test_cs01a_error_response_from_max_credit_threshold():
    d = A0(max_credit=999)  # £9.99 per top-up: the £10 UTRN exceeds it (0x8F5B)
    try:
        assert d.esme.process(_load("ERROR_COMMAND")) == _load("ERROR_RESPONSE")
        assert d.acc.balance == 0 and d.acc.cache == []
        assert "rej remote 0x8F5B max_credit c=5" in d.acc.log.entries()[-1]
    finally:
        d.close()


def test_cs01a_error_response_from_max_balance_and_success_otherwise():
    d = A0(max_balance=1500)
    try:
        assert d.esme.process(_load("SUCCESS_COMMAND")) == _load("SUCCESS_RESPONSE")  # £10
        assert d.esme.process(_load("ERROR_COMMAND")) == _load("ERROR_RESPONSE")  # +£10 > £15
        assert "0x8F47 max_balance" in d.acc.log.entries()[-1] and d.acc.balance == 1000
    finally:
        d.close()
    d = A0()  # with room for it the ERROR command's UTRN is accepted (result 00)
    try:
        r = frame.parse(d.esme.process(_load("ERROR_COMMAND")))
        assert r.content[-1] == 0 and d.acc.balance == 1000 and d.acc.cache == [5]
        # and the keypad path, sharing the acceptor, refuses it now as a duplicate
        e = _t.raises(Reject, d.acc.accept, "73948959061972833313")
        assert e.code == 0x8F51
    finally:
        d.close()


def test_shared_z_device_side_equals_vector():
    # Z = ECDH(a0 KA private, supplier pp-KA public) with the firmware's P-256 (gbcs.md §9.3), with
    # the trust-anchor cell the ESME is provisioned with
    from firmware.utrn import mac

    v = _vec()
    with open(_t.ROOT + "/tests/vectors/gbcs/rtds_cells.json") as f:
        cells = json.load(f)["cells"]
    pp = [c for c in cells if c["cell"] == "prepayment" and c["eui"] == v["supplier_eui"]][0]
    assert mac.shared_z(_ka_key(), _t.unhex(pp["pub"])) == _t.unhex(v["z"])
