"""The ESME's DER use cases (firmware/meter/der.py, firmware/core/credentials.py, firmware/core/asn1.py;
GBCS §7.3) under both interpreters on RTDS commands: CS02a credential details (the WAN provider's
cells are not an ESME's: 25), CS03A1 join then an incompatible join of the same device (3),
CS04AC of a device not in the log (1), CS06 future-dated and cancelled (NULL), and a CS02b
(ACB by ACB: certificate path, replacement, one commit) answered byte-identically to RTDS with the
ACB cell replaced. The ESME is provisioned as in tests/unit/test_gbcs_rtds.py. The stack is
compiled from source here, hence MP_HEAPSIZE."""
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


def _ka():
    with open(_t.shared_path("interop/rtds/keystore/00db1234567890a0-ka.key")) as f:
        der = a2b_base64("".join(l.strip() for l in f if not l.startswith("-----")))
    i = der.find(b"\x02\x01\x01\x04\x20")
    return der[i + 5:i + 37]


class Dev:
    def __enter__(self):
        with open(_t.ROOT + "/tests/vectors/gbcs/rtds_cells.json") as f:
            j = json.load(f)
        self.root = "/tmp/smlab-der-" + hexlify(os.urandom(6)).decode()
        st = Store(self.root)
        factory.provision(st, _t.unhex(j["esme"]), _ka(), _t.unhex(j["esme_ds"]),
                          [trust.Cell.from_json(c) for c in j["cells"]])
        e = Esme(st, clock=lambda: RTDS_CLOCK)
        from firmware.meter import der

        e.table.der = der.answer
        return e

    def __exit__(self, *a):
        _t.rmtree(self.root)


def _same(e, folder, name):
    r = frame.parse(e.process(load(folder + "/" + name + "_COMMAND_GBCS.HEX")))
    exp = frame.parse(load(folder + "/" + name + "_RESPONSE_GBCS.HEX"))
    assert r.content == exp.content, (name, _t.hexs(r.content), _t.hexs(exp.content))


def test_cs02a_cs03_cs04_cs06_like_rtds():
    with Dev() as e:
        _same(e, "NA_CS02aSignature", "CS02aSignature_NA_ERROR")
    with Dev() as e:
        _same(e, "8.7.1_CS03A1", "CS03A1_8.7.1_SUCCESS")
        _same(e, "8.7.1_CS03A1", "CS03A1_8.7.1_ERROR")
        from firmware.meter import der

        assert der.device_log(e.store) == [(_t.unhex("00db12345678909a"), 4)]
    with Dev() as e:
        _same(e, "8.8.1_CS04ACCritical", "CS04ACCritical_8.8.1_ERROR")
    with Dev() as e:
        _same(e, "11.3_CS06", "CS06_11.3_FUTURE_DATED_SUCCESS")
        assert e.store.get_json("fw")["fd"]["ctr"] == 1001
        _same(e, "11.3_CS06", "CS06_11.3_CANCELLATION_SUCCESS")
        assert "fd" not in e.store.get_json("fw")


def test_cs02b_acb_by_acb_replaces_the_acb_cell():
    with Dev() as e:
        old = e.trust.cell(4, "ka")
        _same(e, "8.5_CS02bACBByACB", "CS02bACBByACB_8.5_SUCCESS")
        new = e.trust.cell(4, "ka")
        assert new.kid == _t.unhex("4897771d34fcb0c6") and new.pub != old.pub and new.eui == old.eui
        # persisted: a reboot reads the new cell
        assert trust.Trust(Store(e.store.root)).cell(4, "ka").pub == new.pub
        assert e.store.get(trust.PENDING_REC) is None
