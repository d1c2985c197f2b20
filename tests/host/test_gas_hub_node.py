"""The hub's choice of router (firmware/wan/node.py attach, firmware/wan/gasproxy.py open_gpf), in
process on a detached board: without the CHF's `gpf` record the plain router (the CHF/ESME path);
with it and the GPF's store provisioned, the router with the GPF beside the CHF serving that GSME;
with the record but no provisioned GPF, or a record without a valid GSME EUI-64, the hub runs the
plain router and says why in its event log. Skips without ../shared's RTDS keystore."""
import pytest

from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared RTDS keystore not present")

GSME = "00db1234567890a1"


def _hub(root, gpf_rec=None, provision_gpf=False):
    from board.unix import Board
    from firmware import roles
    from firmware.wan.gasproxy import GPF_DIR, GPF_REC
    from firmware.store.durable import Store
    from host_tools.gbcs.chf_rtds import ChfRole
    from host_tools.gbcs.gpf_rtds import GpfRole

    keys = C.Keystore(C.KEYSTORE)
    board = Board(str(root))
    st = board.store()
    ChfRole().provision_store(st, keys)
    if gpf_rec is not None:
        st.put_json(GPF_REC, gpf_rec)
    if provision_gpf:
        GpfRole().provision_store(Store(str(root) + GPF_DIR), keys)
    return board, roles.build("chf", board, st)


def _attach(board, chf):
    from firmware.wan import node

    net = node.attach(board, chf, wan=("127.0.0.1", 0))
    return net, type(net.router).__name__


def _events(chf):
    return [e for e in chf.store.log("event").entries() if "gpf not started" in (e.decode() if isinstance(e, bytes) else e)]


def test_plain_router_without_a_gpf(tmp_path):
    board, chf = _hub(tmp_path / "h")
    net, kind = _attach(board, chf)
    try:
        assert kind == "Router"
    finally:
        net.router.ep.close()


def test_gas_router_with_the_gpf(tmp_path):
    board, chf = _hub(tmp_path / "h", {"gsme": GSME}, provision_gpf=True)
    net, kind = _attach(board, chf)
    try:
        assert kind == "GasRouter"
        assert net.router.gsme == bytes.fromhex(GSME) and net.router.gpf.eui == bytes.fromhex("00db1234567890a3")
    finally:
        net.router.ep.close()


@pytest.mark.parametrize("rec, prov", [({"gsme": GSME}, False), ({"gsme": "00db12"}, True), ({"gsme": "zz" * 8}, True)])
def test_a_gpf_that_does_not_build_is_logged(tmp_path, rec, prov):
    board, chf = _hub(tmp_path / "h", rec, provision_gpf=prov)
    net, kind = _attach(board, chf)
    try:
        assert kind == "Router"
        assert _events(chf), "no event-log line for the GPF that did not start"
    finally:
        net.router.ep.close()
