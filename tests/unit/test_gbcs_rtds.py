"""GBCS codec and ESME pipeline on DCC's RTDS 4.5.0 corpus under both interpreters (gbcs.md §10):
a sample of the 1,275 files round-trips exactly (the full corpus: tests/host/test_rtds_corpus.py),
and ESME 00DB1234567890A0, provisioned with the published KA key and the public RTDS trust anchors
(tests/vectors/gbcs/rtds_cells.json, extracted from ../shared keystore certificates), authenticates
the RTDS ECS42 / ECS45 commands and answers ECS45 byte-identically. Skips when ../shared is absent.
"""
MP_HEAPSIZE = "256K"
import json
import os
from binascii import a2b_base64, hexlify

import _t
from firmware.gbcs import frame
from firmware.core import trust
from firmware.core import provision as factory
from firmware.roles.esme import Esme, RTDS_CLOCK
from firmware.store.durable import Store

RTDS = "interop/rtds/RTDS-4.5.0"


def load(rel):
    with open(_t.shared_path(RTDS, rel)) as f:
        return _t.unhex(f.read().strip())


def pkcs8_ec_private(pem_path):
    """32-byte P-256 private key from a PKCS#8 / SEC1 PEM (the OCTET STRING 04 20 <d>)."""
    with open(pem_path) as f:
        body = "".join(l.strip() for l in f if not l.startswith("-----"))
    der = a2b_base64(body)
    i = der.find(b"\x02\x01\x01\x04\x20")  # ECPrivateKey: version 1, privateKey OCTET STRING(32)
    assert i >= 0
    return der[i + 5:i + 37]


def test_corpus_sample_round_trips():
    root = _t.shared_path(RTDS)
    n = 0
    for d in sorted(os.listdir(root))[::6]:
        for f in sorted(os.listdir(root + "/" + d)):
            b = load(d + "/" + f)
            assert frame.build(frame.parse(b)) == b, f
            n += 1
    assert n > 150


class RtdsEsme:
    def __enter__(self):
        ka = pkcs8_ec_private(_t.shared_path("interop/rtds/keystore/00db1234567890a0-ka.key"))
        with open(_t.ROOT + "/tests/vectors/gbcs/rtds_cells.json") as f:
            j = json.load(f)
        self.root = "/tmp/smlab-rtds-" + hexlify(os.urandom(6)).decode()
        st = Store(self.root)
        factory.provision(st, _t.unhex(j["esme"]), ka, _t.unhex(j["esme_ds"]),
                           [trust.Cell.from_json(c) for c in j["cells"]])
        self.esme = Esme(st, clock=lambda: RTDS_CLOCK)
        return self.esme

    def __exit__(self, *a):
        _t.rmtree(self.root)


def test_rtds_ecs42_and_ecs45_byte_identical():
    cmd42 = load("7.1_ECS42/ECS42_7.1_SUCCESS_COMMAND_GBCS.HEX")
    exp42 = frame.parse(load("7.1_ECS42/ECS42_7.1_SUCCESS_RESPONSE_GBCS.HEX"))
    with RtdsEsme() as e:
        e.model.disconnect()
        r = frame.parse(e.process(cmd42))
        assert r.content == exp42.content and e.model.supply == "connected"
        assert bytes(r.signed()) == bytes(exp42.signed())  # all but our own DS signature
    with RtdsEsme() as e:  # RTDS reuses counter 1000 across use cases: fresh state per use case
        assert e.process(load("7.4_ECS45/ECS45_7.4_SUCCESS_COMMAND_GBCS.HEX")) == \
            load("7.4_ECS45/ECS45_7.4_SUCCESS_RESPONSE_GBCS.HEX")


def test_rtds_ecs03_payment_mode():
    cmd = load("1.6_ECS03/ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX")
    exp = frame.parse(load("1.6_ECS03/ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_RESPONSE_GBCS.HEX"))
    with RtdsEsme() as e:
        r = frame.parse(e.process(cmd))
        assert bytes(r.signed()) == bytes(exp.signed()) and e.model.payment_mode == "prepayment"

