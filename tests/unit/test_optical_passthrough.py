"""Pass-through on the device path: signed GBCS commands (the GBCS fixtures of
tests/vectors/gbcs, built on the host with independent crypto) sent over the optical port as
E2 GBCS(...) go through the real ESME pipeline (firmware.roles.esme); the HHT login trusts the
supplier DS cell of the same trust anchors (the role's hht_anchor, as firmware.frontpanel wires it)."""
from firmware.crypto import p256  # noqa: F401,I001  (first: compiled on a fresh heap)
import test_optical_support as S
import hashlib

import _t
from firmware.gbcs import frame
from firmware.core import trust
from firmware.core import provision as factory
from firmware.gbcs import parties
from firmware.roles.esme import Esme
from firmware.optical import auth, iec, port

MP_HEAPSIZE = "256K"  # store + crypto + gbcs + meter + optical compiled from source (see test_meter_esme)

from gbcs_fixtures import vec, keys  # noqa: E402


class Rig:
    def __init__(self):
        k = self.k = keys()
        self.dev = _t.unhex(k["device"])
        self.sup = _t.unhex(k["supplier"])
        root = S.scratch_dir()
        st = S.store_at(root)
        factory.provision(st, self.dev, _t.unhex(k["device_ka"]), _t.unhex(k["device_ds"]),
                           [trust.Cell.from_json(c) for c in k["cells"]])
        clock = _t.unhex(k["clock"])
        self.m = S.Meter(root, eui=self.dev, anchors=lambda issuer: self.m.esme.hht_anchor(issuer),
                         esme_factory=lambda s: Esme(s, clock=lambda: clock))
        self.cred = S.credential(perms=auth.PERM_PASS, scope=self.dev, issuer=self.sup,
                                 signer=_t.unhex(k["supplier_ds"]))

    def login(self):
        return self.m.login(self.cred)

    def send(self, raw, block=None):
        h = _t.hexs(raw).upper()
        if block:
            while len(h) > block:
                assert self.m.talk(iec.command("E2", "GBCS(%s)" % h[:block], partial=True)) == \
                    bytes((iec.ACK,))
                h = h[block:]
        return self.m.talk(iec.command("E2", "GBCS(%s)" % h))

    def response(self, out):
        return _t.unhex(S.unframe(out)[1:-1].decode())

    def verify(self, raw):
        r = frame.parse(raw)
        return p256.verify(_t.unhex(self.k["device_ds_pub"]), hashlib.sha256(bytes(r.signed())).digest(),
                           r.signature)

    def close(self):
        self.m.close()


def err(text):
    return iec.error_message(text)


def test_signed_commands_through_the_optical_port():
    r = Rig()
    try:
        r.m.sign_on_prog()
        assert r.send(vec("cmd_ecs43")) == err("ER03")  # not before login
        assert r.login() == bytes((iec.ACK,))
        r.m.model.disconnect()
        raw = r.response(r.send(vec("cmd_ecs42")))
        assert r.m.model.supply == "connected"
        resp = frame.parse(raw)
        assert resp.cra == frame.CRA_RESPONSE and resp.recipient == r.sup and r.verify(raw)
        # a MAC-only command gets a MAC'd response, byte-identical to the host's
        assert r.response(r.send(vec("cmd_ecs45"))) == vec("resp_ecs45")
        r.response(r.send(vec("cmd_ecs43")))
        assert r.m.model.supply == "disconnected"
        # a long command in EOT partial blocks
        raw = r.response(r.send(vec("cmd_ecs03"), block=300))
        assert r.m.model.payment_mode == "prepayment" and r.verify(raw)
    finally:
        r.close()


def test_replayed_tampered_other_meter_unsigned_rejected():
    r = Rig()
    try:
        r.login()
        r.send(vec("cmd_ecs43"))
        before = r.m.persistent()
        n0 = len(r.m.gbcs_security())
        assert r.send(vec("cmd_ecs43")) == err("ER8F60")
        bad = bytearray(vec("cmd_ecs42"))
        bad[-30] ^= 0x40
        assert r.send(bytes(bad)) == err("ER8F3D")
        assert r.send(vec("cmd_other_eui")) == err("ER8F3E")
        assert r.send(vec("cmd_ecs42_unsigned")) == err("ER8F3D")
        assert r.send(b"\x00\x01") == err("ER8F1E")
        assert r.m.talk(iec.command("E2", "GBCS(ABC)")) == err("ER01")  # odd hex
        assert r.m.persistent() == before and r.m.model.supply == "disconnected"
        assert len(r.m.gbcs_security()) == n0 + 5  # one ESME entry per rejected command
        # and the genuine next command still works
        r.response(r.send(vec("cmd_ecs44")))
        assert r.m.model.supply == "armed"
    finally:
        r.close()


def test_passthrough_limits():
    r = Rig()
    try:
        r.login()
        for _ in range(port.MAX_GBCS_BYTES // 500):
            r.m.talk(iec.command("E2", "GBCS(%s)" % ("0" * 1000), partial=True))
        assert r.m.talk(iec.command("E2", "GBCS(%s)" % ("0" * 1000), partial=True)) == err("ER07")
        assert r.m.talk(iec.command("E2", "GBCS(%s)" % ("0" * 999), partial=True)) == err("ER01")
        # the buffer was dropped: a fresh command works
        r.m.clock.advance(10000)
        r.response(r.send(vec("cmd_ecs43")))
        assert r.m.model.supply == "disconnected"
        # a credential without PERM_PASS cannot pass commands through
        r.m.talk(iec.command("B0"))
        k = r.k
        c = S.credential(perms=auth.PERM_READ, scope=r.dev, issuer=r.sup,
                         signer=_t.unhex(k["supplier_ds"]))
        assert r.m.login(c) == bytes((iec.ACK,))
        assert r.send(vec("cmd_ecs42")) == err("ER02")
        assert r.m.model.supply == "disconnected"
    finally:
        r.close()
