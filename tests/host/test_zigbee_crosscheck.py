"""Independent cross-checks of firmware/zigbee and firmware/crypto/ccm.py against `cryptography`
(CPython): CCM* against AESCCM (13-byte nonce, tags 4/8/16) and a level-5 NWK frame opened with a
nonce and AAD assembled here from the spec's field order; AES-MMO / install-code keys against an
MMO written here on raw AES-ECB; the CBKE (P-256 deviation) link key against cryptography's ECDH
with bench-PKI GBCS key-agreement keys; ZEP v2 and pcap framing."""
import os
import random
import struct

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from firmware.alerts import Reject
from firmware.crypto import ccm
from firmware.crypto import zigbee as zb
from firmware.zigbee import cbke, nwk
from firmware.zigbee import security as sec
from host_tools.han import pcap, zep


def test_ccm_star_matches_aesccm():
    rnd = random.Random(1754)
    for i in range(300):
        tag = (4, 8, 16)[i % 3]
        key = rnd.randbytes(16)
        nonce = rnd.randbytes(13)
        aad = rnd.randbytes(rnd.randrange(0, 60))
        pt = rnd.randbytes(rnd.randrange(0, 120))
        want = AESCCM(key, tag_length=tag).encrypt(nonce, pt, aad or None)
        assert ccm.encrypt(key, nonce, aad, pt, tag) == want
        assert ccm.decrypt(key, nonce, aad, want, tag) == pt
        if want:
            bad = bytearray(want)
            bad[rnd.randrange(len(bad))] ^= 1 << rnd.randrange(8)
            with pytest.raises(Reject):
                ccm.decrypt(key, nonce, aad, bytes(bad), tag)


def test_nwk_frame_opens_with_an_independent_nonce_and_aad():
    key = os.urandom(16)
    src = 0x00DB123456789093
    f = nwk.NwkFrame(nwk.DATA, 0x0000, 0x4F21, 7, payload=b"\x40\x01\x02\x07\x09\x01\x01\x05hello",
                  aux=sec.Aux(sec.KEY_NWK, 0x01020304, src=src, key_seq=3))
    raw = nwk.build(f, key)
    hdr = raw[:8]
    aux_air = raw[8:22]
    assert aux_air[0] == 0x28  # level 0 on air, key id 1 (network key), extended nonce
    scf5 = bytes((aux_air[0] | 5,))
    nonce = struct.pack("<Q", src) + struct.pack("<I", 0x01020304) + scf5
    aad = hdr + scf5 + aux_air[1:]
    assert AESCCM(key, tag_length=4).decrypt(nonce, raw[22:], aad) == f.payload


def _mmo(data):
    """AES-MMO written from ZigBee spec B.6 on cryptography's AES-ECB (messages < 2^16 bits)."""
    n = len(data)
    m = data + b"\x80" + bytes((13 - n) % 16) + struct.pack(">H", 8 * n)
    h = bytes(16)
    for off in range(0, len(m), 16):
        blk = m[off:off + 16]
        e = Cipher(algorithms.AES(h), modes.ECB()).encryptor().update(blk)
        h = bytes(a ^ b for a, b in zip(e, blk))
    return h


def _crc_x25(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def test_install_code_keys_every_length_against_independent_mmo():
    rnd = random.Random(12)
    codes = [bytes.fromhex("09bfad1ea5a3")] + [rnd.randbytes(n) for n in (6, 8, 12, 16) for _ in range(5)]
    for code in codes:
        c = _crc_x25(code)
        wire = code + bytes((c & 0xFF, c >> 8))
        want = _mmo(wire)
        assert zb.install_code_link_key(wire) == want
        assert zb.install_code_link_key_without_crc(code) == want
    six = bytes.fromhex("09bfad1ea5a36e1c")  # the 6-byte code with its CRC, as typed by a user
    assert zb.install_code_link_key(six) == _mmo(six)
    with pytest.raises(Reject):
        zb.install_code_link_key_without_crc(six[:7])


def test_cbke_link_key_from_gbcs_ka_keys_matches_cryptography_ecdh(tmp_path):
    from host_tools.keys import pki

    keys = pki.create_bench_pki(str(tmp_path / "ks"), devices=(("esme", 1), ("chf", 1)))
    esme = next(p for p in keys.values() if p.is_device and p.eui[5] == 1)
    chf = next(p for p in keys.values() if p.is_device and p.eui[5] == 3)
    U, V = int.from_bytes(esme.eui, "big"), int.from_bytes(chf.eui, "big")
    eph_u = ec.generate_private_key(ec.SECP256R1())
    eph_v = ec.generate_private_key(ec.SECP256R1())

    def raw(k):
        return k.private_numbers().private_value.to_bytes(32, "big")

    got = {}
    u = cbke.Initiator(U, esme.private_bytes("ka"), {V: chf.public_bytes("ka")},
                       lambda p, k: got.setdefault("u", (p, k)), eph_d=raw(eph_u))
    v = cbke.Responder(V, chf.private_bytes("ka"), {U: esme.public_bytes("ka")},
                       lambda p, k: got.setdefault("v", (p, k)), eph_d=raw(eph_v))
    qeu = u.on_initiate_response(v.on_initiate_request(u.start(), U), V)
    qev = v.on_ephemeral_request(qeu)
    macu = u.on_ephemeral_response(qev)
    macv = v.on_confirm_request(macu)
    key = u.on_confirm_response(macv)
    assert got == {"u": (V, key), "v": (U, key)}
    # independent: Z = ECDH(eU, QEV) || ECDH(sU, QSV) (SP 800-56A full unified model) with
    # cryptography; MacKey / KeyData = MMO(Z || counter); MACs over IDU || IDV || QEU || QEV
    assert ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), qev).public_numbers() == \
        eph_v.public_key().public_numbers()
    z = eph_u.exchange(ec.ECDH(), eph_v.public_key()) + esme.private["ka"].exchange(
        ec.ECDH(), chf.public["ka"])
    mk = _mmo(z + b"\x00\x00\x00\x01")
    assert key == _mmo(z + b"\x00\x00\x00\x02")
    m = esme.eui + chf.eui + qeu + qev
    assert (macu, macv) == (zb.hmac_mmo(mk, b"\x02" + m), zb.hmac_mmo(mk, b"\x03" + m))
    # the identity a party presents is its EUI-64 || its compressed GBCS KA key
    assert u.id == esme.eui + esme.public["ka"].public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def test_zep_round_trip_and_rejects():
    from firmware.zigbee import mac

    psdu = mac.beacon_request(5)
    d = zep.encode(psdu, channel=15, device_id=0x1234, seq=77, lqi=200, unix_time=1.5)
    assert len(d) == 32 + len(psdu) and d[:4] == b"EX\x02\x01" and d[4] == 15
    assert d[7] == 1  # CRC mode
    assert struct.unpack(">II", d[9:17]) == (2208988801, 1 << 31)
    r = zep.decode(d)
    assert (r["channel"], r["device_id"], r["seq"], r["lqi"], r["psdu"]) == (15, 0x1234, 77, 200, psdu)
    bad = d[:-1] + bytes((d[-1] ^ 1,))
    with pytest.raises(zep.ZepError):
        zep.decode(bad)
    with pytest.raises(zep.ZepError):
        zep.decode(d[:-1])
    with pytest.raises(zep.ZepError):
        zep.encode(bytes(128))
    with pytest.raises(zep.ZepError):
        zep.encode(psdu, channel=27)


def test_pcap_framing(tmp_path):
    path = str(tmp_path / "x.pcap")
    with pcap.Writer(path, start=100.25) as w:
        w.add(b"\x02\x00\x01" + b"\x00\x00", 3)
    raw = open(path, "rb").read()
    magic, vmaj, vmin, _tz, _sf, snap, lt = struct.unpack("<IHHiIII", raw[:24])
    assert (magic, vmaj, vmin, lt) == (0xA1B2C3D4, 2, 4, 1)
    sec_, usec, incl, orig = struct.unpack("<IIII", raw[24:40])
    assert (sec_, usec, incl, orig) == (100, 250000, len(raw) - 40, len(raw) - 40)
    frame = raw[40:]
    assert frame[12:14] == b"\x08\x00" and frame[14] == 0x45
    ip = frame[14:34]
    assert pcap._csum(ip) == 0  # header checksum valid
    assert struct.unpack(">HH", frame[34:38]) == (17754, 17754)
    assert frame[42:44] == b"EX"
