"""CBKE message flow on P-256 (the documented deviation of han.md §4.3, docs/han.md §5): both
sides run the Key Establishment cluster 0x0800 exchange in process; the link key is stored only
after the peer's MAC verifies; identity, suite, order and MAC failures give the Terminate
statuses; the KDF/MAC steps match han.md §4.2's suite-1 regression vector."""
import _t
from firmware.alerts import Reject
from firmware.zigbee import cbke, zcl

U = _t.unhex
ESME = 0x00DB123456789093
CHF = 0x00DB1234567890A2
D_ESME = U("1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F809")
D_CHF = U("0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0")
E_ESME = U("11" * 32)
E_CHF = U("22" * 32)


def _pub(d):
    return cbke.public_key_of(d)


def _pair(stored, d_u=D_ESME, d_v=D_CHF, trusted_u=None, trusted_v=None):
    tu = trusted_u if trusted_u is not None else {CHF: _pub(D_CHF)}
    tv = trusted_v if trusted_v is not None else {ESME: _pub(D_ESME)}
    u = cbke.Initiator(ESME, d_u, tu, lambda p, k: stored.append(("U", p, k)), eph_d=E_ESME)
    v = cbke.Responder(CHF, d_v, tv, lambda p, k: stored.append(("V", p, k)), eph_d=E_CHF)
    return u, v


def test_kdf_and_macs_match_the_suite1_regression_vector():
    z = U("002B2DB7E05E98F27799310EF82AC509B05374CB4E")
    mk, kd = cbke.derive(z)
    assert mk == U("B07B8E4B8A1F63754EE21C3C04FC3B70")
    assert kd == U("88A8FB9C584736FC1729484B7719C888")
    macu, macv = cbke.macs(mk, 0x0022A300001731F3, 0x0022080000000001,
                           U("0306AB52062201D995B8B8591F3F086A3A2E214D845E"),
                           U("0300E117C86D0E7CD128B2F34E9076CFF24AF46D7288"))
    assert macu == U("4D21A93ED6B8B713D77886E14C971F7C")
    assert macv == U("999D697027BAD744FDA09D88DB1D2FE6")


def test_full_flow_both_sides_agree_and_store_after_mac():
    stored = []
    u, v = _pair(stored)
    req = u.start()
    assert len(req) == 45 and req[:2] == U("0080") and req[4:12] == U("00DB123456789093")
    # carried in ZCL: cluster-specific command 0x00 to the server
    frame = zcl.build(zcl.Header(zcl.CLUSTER, 1, cbke.CMD_INITIATE), req)
    h, p = zcl.parse(frame)
    rsp = v.on_initiate_request(p, ESME)
    qeu = u.on_initiate_response(rsp, CHF)
    assert len(qeu) == 33 and qeu[0] in (2, 3)
    qev = v.on_ephemeral_request(qeu)
    macu = u.on_ephemeral_response(qev)
    assert stored == []  # nothing stored before a MAC verified
    macv = v.on_confirm_request(macu)
    assert stored == [("V", ESME, v.link_key)]
    key = u.on_confirm_response(macv)
    assert stored[1] == ("U", CHF, key) and key == v.link_key and len(key) == 16
    # independent recomputation of the derivation from the two ECDH results
    from firmware.crypto.ecdh256 import ecdh

    z = ecdh(E_ESME, qev) + ecdh(D_ESME, _pub(D_CHF))
    mk, kd = cbke.derive(z)
    assert kd == key
    assert cbke.macs(mk, ESME, CHF, qeu, qev) == (macu, macv)


def test_bad_mac_stores_nothing():
    stored = []
    u, v = _pair(stored)
    qeu = u.on_initiate_response(v.on_initiate_request(u.start(), ESME), CHF)
    macu = u.on_ephemeral_response(v.on_ephemeral_request(qeu))
    bad = bytes((macu[0] ^ 1,)) + macu[1:]
    e = _t.raises(cbke.Terminate, v.on_confirm_request, bad)
    assert e.status == cbke.BAD_KEY_CONFIRM and stored == [] and v.link_key is None
    # and the initiator refuses a wrong MACV
    stored2 = []
    u2, v2 = _pair(stored2)
    qeu = u2.on_initiate_response(v2.on_initiate_request(u2.start(), ESME), CHF)
    macu = u2.on_ephemeral_response(v2.on_ephemeral_request(qeu))
    macv = v2.on_confirm_request(macu)
    e = _t.raises(cbke.Terminate, u2.on_confirm_response, macv[:15] + bytes((macv[15] ^ 1,)))
    assert e.status == cbke.BAD_KEY_CONFIRM and [s[0] for s in stored2] == ["V"]


def test_provisioned_key_mismatch_is_invalid_certificate():
    # the responder's table holds another KA key for the ESME: INVALID_CERTIFICATE at once
    stored = []
    u, v = _pair(stored, trusted_v={ESME: _pub(D_CHF)})
    e = _t.raises(cbke.Terminate, v.on_initiate_request, u.start(), ESME)
    assert e.status == cbke.INVALID_CERTIFICATE


def test_identity_and_suite_checks():
    stored = []
    u, v = _pair(stored, trusted_v={})
    e = _t.raises(cbke.Terminate, v.on_initiate_request, u.start(), ESME)
    assert e.status == cbke.UNKNOWN_ISSUER
    u, v = _pair(stored)
    e = _t.raises(cbke.Terminate, v.on_initiate_request, u.start(), ESME + 1)  # not the sender
    assert e.status == cbke.INVALID_CERTIFICATE
    u, v = _pair(stored)
    req = u.start()
    e = _t.raises(cbke.Terminate, v.on_initiate_request, U("0200") + req[2:], ESME)  # suite 2
    assert e.status == cbke.UNSUPPORTED_SUITE
    e = _t.raises(cbke.Terminate, v.on_initiate_request, req[:-1], ESME)
    assert e.status == cbke.BAD_MESSAGE
    u, v = _pair(stored)
    v.on_initiate_request(u.start(), ESME)
    e = _t.raises(cbke.Terminate, v.on_confirm_request, bytes(16))  # out of order
    assert e.status == cbke.BAD_MESSAGE
    e = _t.raises(cbke.Terminate, v.on_ephemeral_request, U("04") + bytes(32))
    assert e.status == cbke.BAD_MESSAGE
    from firmware.crypto.ec256 import decode_point

    x = 1
    while True:  # the first x with no point on P-256
        try:
            decode_point(U("02") + x.to_bytes(32, "big"))
        except Reject:
            break
        x += 1
    e = _t.raises(cbke.Terminate, v.on_ephemeral_request, U("02") + x.to_bytes(32, "big"))
    assert e.status == cbke.BAD_MESSAGE
    assert stored == []
    assert isinstance(e, Reject)


def test_terminate_payload():
    p = cbke.terminate_payload(cbke.BAD_KEY_CONFIRM, 5)
    assert p == U("02" "05" "0080")
    assert cbke.parse_terminate(p) == (2, 5, 0x8000)
    _t.raises(cbke.Terminate, cbke.parse_terminate, p[:3])


def test_random_ephemeral_keys_differ_per_run():
    import os

    stored = []
    u = cbke.Initiator(ESME, D_ESME, {CHF: _pub(D_CHF)}, lambda p, k: stored.append(k), rng=os.urandom)
    v = cbke.Responder(CHF, D_CHF, {ESME: _pub(D_ESME)}, lambda p, k: stored.append(k), rng=os.urandom)
    qeu = u.on_initiate_response(v.on_initiate_request(u.start(), ESME), CHF)
    macv = v.on_confirm_request(u.on_ephemeral_response(v.on_ephemeral_request(qeu)))
    u.on_confirm_response(macv)
    assert stored[0] == stored[1]
    assert qeu != _pub(E_ESME)
