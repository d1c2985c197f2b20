"""A flood of refused optical requests cannot flush GBCS security events: the real optical Port on
an in-memory stream in front of the real ESME role (pass-through to its GBCS pipeline), five GBCS
rejections, then 1,000 refused W1 requests from a read-only HHT credential; the five GBCS entries
stay readable, over the port (R1 C.LOG.S) and from the store (firmware.core.seclog)."""
from firmware.crypto import p256  # noqa: F401,I001  (first: compiled on a fresh heap)
import test_optical_support as S

import _t
from firmware.core import seclog
from firmware.core import provision as factory, trust
from firmware.optical import auth, iec
from firmware.roles.esme import Esme

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

    def cred(self, perms):
        return S.credential(perms=perms, scope=self.dev, issuer=self.sup,
                            signer=_t.unhex(self.k["supplier_ds"]))

    def send(self, raw):
        return self.m.talk(iec.command("E2", "GBCS(%s)" % _t.hexs(raw).upper()))

    def read(self, address, arg=""):
        return S.unframe(self.m.talk(iec.command("R1", "%s(%s)" % (address, arg))))[1:-1].decode()


def _five_gbcs_rejections(r):
    assert r.m.login(r.cred(auth.PERM_PASS)) == bytes((iec.ACK,))
    r.send(vec("cmd_ecs43"))
    assert r.send(vec("cmd_ecs43")) == iec.error_message("ER8F60")  # replay
    bad = bytearray(vec("cmd_ecs42"))
    bad[-30] ^= 0x40
    assert r.send(bytes(bad)) == iec.error_message("ER8F3D")  # signature
    assert r.send(vec("cmd_other_eui")) == iec.error_message("ER8F3E")  # another device
    assert r.send(vec("cmd_ecs42_unsigned")) == iec.error_message("ER8F3D")  # unsigned critical
    assert r.send(b"\x00\x01") == iec.error_message("ER8F1E")  # malformed
    r.m.talk(iec.command("B0"))
    ents = r.m.gbcs_security()
    assert len(ents) == 5 and len(set(ents)) == 5
    return ents


def test_thousand_refused_optical_requests_leave_gbcs_rejections_readable():
    r = Rig()
    try:
        gbcs = _five_gbcs_rejections(r)
        assert r.m.login(r.cred(auth.PERM_READ)) == bytes((iec.ACK,))
        addrs = ("C.LS", "96.3.10", "C.PM", "C.PIN")
        for i in range(1000):
            # alternate targets so that repeats cannot all coalesce: the optical log rotates
            a = addrs[0] if i < 500 else addrs[i % len(addrs)]
            assert r.m.talk(iec.command("W1", "%s(0)" % a)) == iec.error_message("ER02")
            r.m.clock.advance(400)  # under the port's rate limit: every request is refused as W1
        assert r.m.gbcs_security() == gbcs
        # over the port: the GBCS security log, entry 0 = newest
        assert int(r.read("C.LOG.S")) == 5
        assert [r.read("C.LOG.S", str(i)) for i in range(5)] == list(reversed(gbcs))
        # the optical log took the flood and rotated: its own older entries (the logins) are gone
        opt = r.m.security()
        assert seclog.OPTICAL_SIZE // 2 <= len(opt) <= seclog.OPTICAL_SIZE
        assert not [e for e in opt if "login" in e]
        assert int(r.read("C.LOG.O")) == len(opt)
        assert opt[-1].startswith("8F30 optical refused W1 W1 C.PIN")
        # a reboot reads the same
        m2 = r.m.reboot()
        assert seclog.gbcs(m2.store).entries() == gbcs
    finally:
        r.m.close()


def test_identical_refusals_coalesce_and_keep_the_login_entry():
    r = Rig()
    try:
        _five_gbcs_rejections(r)
        assert r.m.login(r.cred(auth.PERM_READ)) == bytes((iec.ACK,))
        for _ in range(70):  # the trial of the security review: 70 refused W1 requests
            assert r.m.talk(iec.command("W1", "C.LS(0)")) == iec.error_message("ER02")
            r.m.clock.advance(400)
        opt = r.m.security()
        assert opt[-1] == "8F30 optical refused W1 W1 C.LS not in the HHT interface specification [x70]"
        assert opt[-2] == "81A5 optical login hht=48485400000000A7 perms=1"
        assert r.read("C.LOG.O", "0") == opt[-1]
        assert len(r.m.gbcs_security()) == 5
    finally:
        r.m.close()
