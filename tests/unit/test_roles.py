"""Role registry (firmware/roles): the store's role name builds its role object by composition
(GBCS secure core + the role's model and handlers); an unknown or missing role is refused with a
typed Reject and written to the event log. The ESME role object carries the interface the
application, optical port and front panel use. Heap: the ESME built by roles.build carries the
metering engine and the UTRN service, all compiled from source here (P-256 ECDH for Z too); 256K
is too little for that, the deployed figures are in docs/board-memory.md."""
MP_HEAPSIZE = "320K"
import json
import os
from binascii import hexlify

import _t
from firmware.alerts import Reject
from firmware.core import reasons
from firmware.core.provision import provision
from firmware.core.trust import Cell, Trust
from firmware.gbcs import parties
from firmware.store.durable import Store
from firmware import roles


class _Board:
    def time(self):
        return 1420070400


def _store():
    with open(_t.ROOT + "/tests/vectors/gbcs/rtds_cells.json") as f:
        j = json.load(f)
    with open(_t.ROOT + "/tests/vectors/utrn/rtds_a0.json") as f:
        ka = _t.unhex(json.load(f)["device_ka_private"])
    root = "/tmp/smlab-roles-" + hexlify(os.urandom(6)).decode()
    st = Store(root)
    provision(st, _t.unhex(j["esme"]), ka, _t.unhex(j["esme_ds"]),
              [Cell.from_json(c) for c in j["cells"]])
    return root, st, j


def test_esme_role_interface():
    root, st, j = _store()
    try:
        r = roles.build("esme", _Board(), st)
        assert r.name == "esme" and r.ident == "SMLAB-ESME"
        assert r.eui == _t.unhex(j["esme"]) and r.store is st
        assert isinstance(r.trust, Trust) and r.trust.eui == r.eui
        assert r.model is not None and r.model.supply == "connected"
        assert r.acceptor is not None
        assert r.poll(0) is None
        sup = r.trust.cell(parties.SUPPLIER, "ds")
        assert r.hht_anchor(sup.eui) == sup.pub  # no table directory: the SEC1 key
        acb = r.trust.cell(parties.ACB, "ds")
        assert r.hht_anchor(acb.eui) is None  # only the supplier may log in
        assert r.hht_anchor(b"\x01" * 8) is None
        e = _t.raises(Reject, r.process, b"\xDF\x09")
        assert e.reason == reasons.FORMAT
    finally:
        _t.rmtree(root)


def test_unknown_or_missing_role_is_refused_and_logged():
    root, st, j = _store()
    try:
        for name in ("gsme-typo", None):
            e = _t.raises(Reject, roles.build, name, _Board(), st)
            assert e.reason == reasons.UNKNOWN_ROLE
        ev = st.log("event").entries()
        assert len(ev) == 2 and all(reasons.UNKNOWN_ROLE in x for x in ev)
        assert "esme" in roles.REGISTRY
    finally:
        _t.rmtree(root)


def test_unprovisioned_store_is_not_provisioned():
    root = "/tmp/smlab-roles-" + hexlify(os.urandom(6)).decode()
    try:
        e = _t.raises(Reject, roles.build, "esme", _Board(), Store(root))
        assert e.reason == reasons.NOT_PROVISIONED
    finally:
        _t.rmtree(root)
