"""The ESME's answers to the RTDS commands whose content is ASN.1 DER (GBCS §7.3: CS02a-g credential
management, CS03A1 / CS04AC device log, CS06 firmware activation; firmware/meter/der.py,
firmware/core/credentials.py), run in process against every RTDS DER command addressed to
00DB1234567890A0, each from the freshly provisioned device (RTDS variants are independent
scenarios). Device state RTDS assumes is set the way a bench would: the floors (seq numbers) of
the network operator and load controller at 1 (provisioning), the partner of CS04AC in the device
log (der.join) and the image CS06 activates held (der.stage_image, version as RTDS reports it).

Content must equal RTDS's except where the device cannot produce it; each such command is listed
in NOT_EQUAL with the reason, and must then differ (a command that starts matching is flagged).
Also: a CS02b from a party without authority is refused and changes nothing; a power cut at any
store operation of a CS02b leaves the old or the new trust anchors and floors, never a mix.
"""
import os

import pytest

from host_tools.gbcs import corpus as C
from host_tools.gbcs import runner

ESME = bytes.fromhex("00db1234567890a0")

NOT_EQUAL = {
    "CS06_11.3_IMMEDIATE_ERROR_COMMAND_GBCS.HEX":
        "same command as IMMEDIATE_SUCCESS: the failure is device state (the fault hook's)",
    "CS02c_6.17_SUCCESS_COMMAND_GBCS.HEX":
        "the certification request carries the key pair the device generates and its signature",
    "CS02d_6.15.2_SUCCESS_COMMAND_GBCS.HEX":
        "certifies RTDS's ESME DS key, whose private key is unpublished (the runner provisions its "
        "own): answered 4, no corresponding key pair",
    "CS02e_6.24.2_SUCCESS_COMMAND_GBCS.HEX":
        "RTDS returns its certificate of that unpublished DS key; the device holds none: 2",
    "CS02aSignature_NA_ERROR_COMMAND_GBCS.HEX":
        "RTDS reports the network operator's seq number 0 here but 1 in CS02aMAC and CS02fSignature: "
        "one device state cannot give both (seeded 1)",
    "CS02gLoadControllerBySupplier_6.15.1_IMMEDIATE_ERROR_COMMAND_GBCS.HEX":
        "the altered byte is in the path CA certificate's signature, checkable only with the root "
        "(ZA) key, which the RTDS keystore does not publish",
}


def _der_cases():
    """[(folder, command)] of the DER commands, in the runner's order."""
    top, ks = runner.locate()
    out = []
    for uc in runner.use_cases(top, ESME):
        for c in uc.commands:
            if c.msg.content[:1] != b"\xd9" and c.expected is not None:
                out.append((uc.name, c))
    return out, C.Keystore(ks)


def _device(tmp, keys, n):
    from firmware import provisioning, roles
    from firmware.store.durable import Store

    role = runner.role("esme")
    st = Store(os.path.join(tmp, "d%03d" % n))
    p = role.payload(keys)
    p["floors"] = {"3": 1, "8": 1}
    provisioning.apply(st, p, role.eui, os.path.join(tmp, "vk"))
    return roles.build("esme", runner._HostBoard(), st, os.path.join(tmp, "vk")), st


def _seed(st, cmd):
    from firmware.gbcs import frame
    from firmware.meter import der

    if cmd.variant != "SUCCESS":  # the state a SUCCESS variant assumes, nothing for the ERRORs
        return
    if cmd.msg.message_code == 0x000F:
        der.join(st, bytes(cmd.msg.content[2:10]), 4)
    if cmd.msg.message_code == 0x0012:
        r = frame.parse(cmd.expected).content
        if r[:5] == b"\x30\x09\x02\x01\x00":
            der.stage_image(st, bytes(cmd.msg.content[4:36]), bytes(r[-4:]))


def test_every_der_command_answers_like_rtds(tmp_path):
    from firmware.gbcs import frame

    cases, keys = _der_cases()
    assert len(cases) >= 36
    os.makedirs(str(tmp_path / "vk"))
    equal, differ = [], []
    folder = None
    for i, (uc, c) in enumerate(cases):
        # a fresh device per folder, and per command where a command changes the trust anchors
        if uc != folder or "CS02b" in uc or "CS02g" in uc:
            dev, st = _device(str(tmp_path), keys, i)
            folder = uc
        _seed(st, c)
        got = bytes(frame.parse(dev.process(c.raw)).content)
        exp = bytes(frame.parse(c.expected).content)
        (equal if got == exp else differ).append(c.name)
        if c.name in NOT_EQUAL:
            assert got != exp, "now equal, drop it from NOT_EQUAL: %s" % c.name
            assert got[:1] in (b"\x02", b"\x30") and got != b"\x02\x01\x03" or c.name.startswith("CS06")
        else:
            assert got == exp, (c.name, got.hex(), exp.hex())
    assert sorted(differ) == sorted(NOT_EQUAL)
    print("DER commands: %d, content equal %d, not equal %d" % (len(cases), len(equal), len(differ)))


def _cs02b(name):
    cases, keys = _der_cases()
    return [c for u, c in cases if c.name == name][0], keys


def _state(st):
    from firmware.core import trust as T

    return st.get_json(T.CELLS_REC), st.get_json(T.FLOORS_REC)


def test_cs02b_by_a_party_without_authority_is_refused_and_changes_nothing(tmp_path):
    """The network operator's own CS02b (networkOperatorByNetworkOperator) sent by the supplier
    instead, signed with the supplier's DS key and MAC'd by the ACB: it authenticates, then is
    refused NO_AUTHORITY (the supplier may not authorise that mode) and the anchors and floors stay
    as they were."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from firmware import alerts as A
    from firmware.crypto.gmac import gbcs_mac
    from firmware.gbcs import frame, parties as P

    c, keys = _cs02b("CS02bNOByNO_6.15.1_SUCCESS_COMMAND_GBCS.HEX")
    os.makedirs(str(tmp_path / "vk"))
    dev, st = _device(str(tmp_path), keys, 0)
    before = _state(st)
    sup = runner.supplier(keys)
    m = frame.parse(c.raw)
    m.originator = sup.eui
    m.signature = None
    body, _ = frame.build_grouping(m)
    r, s = decode_dss_signature(sup.priv["ds"].sign(bytes(body[1:]), ec.ECDSA(hashes.SHA256())))
    m.signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    frame.build(m)
    z = dev.trust.z(dev.trust.cell(P.ACB, "ka"))
    raw = frame.set_mac(m, gbcs_mac(z, m.originator, P.U_COMMAND, frame.u64(m.counter), m.recipient,
                                    m.mac_aad(), 12))
    with pytest.raises(A.Reject) as e:
        dev.process(bytes(raw))
    assert e.value.code == A.NO_AUTHORITY
    assert _state(st) == before
    assert any("may not authorise" in x for x in dev.seclog.entries())
    # the same command from its authorised originator is applied (the refusal was the authority)
    dev2, st2 = _device(str(tmp_path), keys, 1)
    dev2.process(c.raw)
    assert _state(st2) != before


class _Cut(Exception):
    pass


def test_cs02b_power_cut_leaves_old_or_new_anchors(tmp_path, monkeypatch):
    """A power cut before each store operation (record write, delete) of an immediate CS02b
    (supplier by supplier: DS, KA and prepayment KA cells and floors): after the device boots again
    its anchors and floors are exactly the old ones or exactly the new ones."""
    from firmware.core.trust import Trust
    from firmware.store import durable

    c, keys = _cs02b("CS02bSupplierBySupplier_6.15.1_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX")
    os.makedirs(str(tmp_path / "vk"))
    dev, st = _device(str(tmp_path), keys, 0)
    old = _state(st)
    dev.process(c.raw)
    new = _state(st)
    assert new != old and new[0] != old[0]
    real_w, real_r = durable.Store._write_atomic, durable.Store._remove
    n, seen = 0, set()
    while True:
        n += 1
        d, st = _device(str(tmp_path), keys, n)
        ops = [0]

        def w(self, *a, _n=n):
            ops[0] += 1
            if ops[0] == _n:
                raise _Cut()
            return real_w(self, *a)

        def rm(self, *a, _n=n):
            ops[0] += 1
            if ops[0] == _n:
                raise _Cut()
            return real_r(self, *a)

        monkeypatch.setattr(durable.Store, "_write_atomic", w)
        monkeypatch.setattr(durable.Store, "_remove", rm)
        cut = False
        try:
            d.process(c.raw)
        except _Cut:
            cut = True
        monkeypatch.setattr(durable.Store, "_write_atomic", real_w)
        monkeypatch.setattr(durable.Store, "_remove", real_r)
        st2 = durable.Store(st.root)
        Trust(st2)  # the boot: finishes a committed replacement
        after = _state(st2)
        assert after in (old, new), n
        seen.add("new" if after == new else "old")
        if not cut:
            break
    assert n > 3 and seen == {"old", "new"}


def _resign(dev, m, keys, eui):
    """Command `m` re-signed by organisation `eui` (its DS key) and re-MAC'd by the ACB."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from firmware.crypto.gmac import gbcs_mac
    from firmware.gbcs import frame, parties as P

    m.signature = None
    body, _ = frame.build_grouping(m)
    r, s = decode_dss_signature(keys.parties[eui].priv["ds"].sign(bytes(body[1:]), ec.ECDSA(hashes.SHA256())))
    m.signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    frame.build(m)
    z = dev.trust.z(dev.trust.cell(P.ACB, "ka"))
    return bytes(frame.set_mac(m, gbcs_mac(z, m.originator, P.U_COMMAND, frame.u64(m.counter), m.recipient,
                                           m.mac_aad(), 12)))


def test_change_of_supplier_moves_the_utrn_acceptor_and_sets_its_floor(tmp_path):
    """CS02b supplier by transitional CoS (RTDS 6.23 IMMEDIATE) with its specialist (prepayment) floor
    for the supplier set to UTRN counter 5 (5 << 32 in originator-counter space; the transitional
    CoS re-signs it): the new supplier's cells are in, the floors record holds it, and the running
    UTRN acceptor now checks UTRNs against the new supplier's prepayment key with floor 5."""
    from firmware.core import asn1 as D
    from firmware.core.trust import KA, PREPAYMENT
    from firmware.gbcs import frame, parties as P

    c, keys = _cs02b("CS02bSupplierByTransCoS_6.23_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX")
    os.makedirs(str(tmp_path / "vk"))
    dev, st = _device(str(tmp_path), keys, 0)
    acc = dev.acceptor
    old_z = acc.z
    m = frame.parse(c.raw)
    b = bytes(m.content)
    top = D.head(b, 0)
    arpc, reps, path = D.items(b, top[1], top[2])
    f = D.items(b, arpc[1], arpc[2])
    assert f[-1][0] == 0xA6
    change = D.seq(D.integer(P.SUPPLIER), D.integer(0), D.seq(D.seq(D.integer(0), D.integer(5 << 32))))
    new_arpc = D.seq(*([D.raw(b, x) for x in f[:-1]] + [D.tlv(0xA6, change)]))
    m.content = D.seq(new_arpc, D.raw(b, reps), D.raw(b, path))
    raw = _resign(dev, m, keys, m.originator)
    r = frame.parse(dev.process(raw))
    assert b"\x0a\x01\x0a" not in bytes(r.content) and st.get_json("sec_floors")["pp2"] == 5 << 32
    pp = dev.trust.cell(P.SUPPLIER, KA, PREPAYMENT)
    assert pp.eui == bytes.fromhex("90b3d51f30030000")
    assert acc is dev.acceptor and acc.supplier == pp.eui and acc.z != old_z and acc.floor == 5
    from firmware import roles  # after a reboot the acceptor is built from the new anchors and floor

    again = roles.build("esme", runner._HostBoard(), st.__class__(st.root), str(tmp_path / "vk"))
    assert again.acceptor.supplier == pp.eui and again.acceptor.z == acc.z and again.acceptor.floor == 5


def test_cs02c_then_cs02d_switches_the_device_key_and_cs02e_returns_its_certificate(tmp_path):
    """CS02c makes a key pair and a certification request signed with it; a certificate for that
    key (issued on the host, device EUI in hardwareModuleName, digitalSignature) sent by CS02d is
    installed: answer 0, the device signs with the new key from then on, and CS02e returns the
    certificate. A certificate for another key answers 5, nothing changes."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from firmware.core import asn1 as D
    from firmware.gbcs import frame
    from host_tools.gbcs import verify as V

    cases, keys = _der_cases()
    cmd = {c.name: c for u, c in cases}
    os.makedirs(str(tmp_path / "vk"))
    dev, st = _device(str(tmp_path), keys, 0)
    csr_rsp = frame.parse(dev.process(cmd["CS02c_6.17_SUCCESS_COMMAND_GBCS.HEX"].raw)).content
    csr = x509.load_der_x509_csr(bytes(csr_rsp))
    assert csr.is_signature_valid
    pub = csr.public_key()
    ca = ec.generate_private_key(ec.SECP256R1())

    def cert_for(key):
        hmn = D.seq(bytes.fromhex("060d2a863a0001848fb90f01020201"), D.octets(dev.eui))
        now = datetime.datetime(2026, 1, 1)
        return (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST")])).public_key(key)
            .serial_number(7).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=9))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), True)
            .add_extension(x509.SubjectAlternativeName([x509.OtherName(
                x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4"), hmn)]), True)
            .sign(ca, hashes.SHA256()).public_bytes(serialization.Encoding.DER))

    sup = runner.supplier(keys)
    base = cmd["CS02d_6.15.2_SUCCESS_COMMAND_GBCS.HEX"]

    def send(content, counter):
        m = frame.parse(base.raw)
        m.content = content
        m.counter = counter
        return frame.parse(dev.process(_resign(dev, m, keys, sup.eui)))

    wrong = cert_for(ec.generate_private_key(ec.SECP256R1()).public_key())
    ds_before = st.get_json("sec_id")["ds"]
    assert send(wrong, 1001).content == b"\x02\x01\x05" and st.get_json("sec_id")["ds"] == ds_before
    good = cert_for(pub)
    r = send(good, 1002)
    assert r.content == b"\x02\x01\x00"
    assert st.get_json("sec_id")["ds"] != ds_before and st.get("sec_newkey") is None
    new_pub = pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    m = frame.parse(cmd["CS02e_6.24.2_SUCCESS_COMMAND_GBCS.HEX"].raw)
    m.counter = 1003
    r = frame.parse(dev.process(_resign(dev, m, keys, sup.eui)))
    assert bytes(r.content) == good
    assert V.verify_signature(new_pub, r)  # the response is signed with the new key
    assert not V.verify_signature(runner.role("esme").ds_pub(), r)
