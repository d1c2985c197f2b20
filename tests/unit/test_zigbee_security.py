"""AES-CCM* (IEEE 802.15.4-2006 Annex C.2 vectors), ZigBee NWK/APS security at level 5 (han.md §3
Transport-Key capture) and network-key transport under the install-code link key."""
import _t
from firmware.alerts import Reject
from firmware.crypto import ccm
from firmware.zigbee import aps, nwk, keytransport
from firmware.zigbee import security as sec

U = _t.unhex
KEY_C0 = bytes(range(0xC0, 0xD0))
TC = 0x3C2EF5FFFE48596C
JOINER = 0x28DBA7FFFE23B07D
ZBTK_LINK = U("4C23A848A76F432113510A301C5FDFD2")
ZBTK_NWK = U("52F0FE8052EBB35907DAA243C95A2FF4")
APS_SECURED = U("21D7" "307EB001006C5948FEFFF52E3C"
                "22036185D0EF7C9BA3A70BDB1011BF7784163460F39365F209FB5B7C73F213FBC08484"
                "CF0984E4")


def test_ccm_ieee_802154_annex_c_beacon_mic64():
    # C.2.1: beacon frame, security level 2 (MIC-64, no encryption): all 26 bytes authenticated
    hdr = U("08D08421430100000000" "48DEAC" "02" "05000000" "55CF0000" "51525354")
    nonce = U("ACDE480000000001" "00000005" "02")
    assert ccm.encrypt(KEY_C0, nonce, hdr, b"", 8) == U("223BC1EC841AB553")
    assert ccm.decrypt(KEY_C0, nonce, hdr, U("223BC1EC841AB553"), 8) == b""
    _t.raises(Reject, ccm.decrypt, KEY_C0, nonce, hdr[:-1] + b"\x55", U("223BC1EC841AB553"), 8)


def test_ccm_ieee_802154_annex_c_command_enc_mic64():
    # C.2.3: MAC command frame, security level 6 (ENC-MIC-64), payload 0xCE
    hdr = U("2BDC84214302000000" "0048DEAC" "FFFF" "0100000000" "48DEAC" "06" "05000000" "01")
    assert len(hdr) == 29
    nonce = U("ACDE480000000001" "00000005" "06")
    out = ccm.encrypt(KEY_C0, nonce, hdr, U("CE"), 8)
    assert out == U("D8" "4FDE529061F9C6F1")
    assert ccm.decrypt(KEY_C0, nonce, hdr, out, 8) == U("CE")


def test_ccm_rejects_and_encryption_only():
    nonce = bytes(13)
    c = ccm.encrypt(KEY_C0, nonce, b"a", b"hello", 4)
    for i in range(len(c)):
        bad = bytearray(c)
        bad[i] ^= 1
        e = _t.raises(Reject, ccm.decrypt, KEY_C0, nonce, b"a", bytes(bad), 4)
        assert e.reason == "mic"
    _t.raises(Reject, ccm.decrypt, KEY_C0, nonce, b"b", c, 4)
    _t.raises(Reject, ccm.encrypt, KEY_C0, bytes(12), b"", b"x", 4)
    _t.raises(Reject, ccm.encrypt, KEY_C0, nonce, b"", b"x", 6)
    _t.raises(Reject, ccm.decrypt, KEY_C0, nonce, b"", b"abc", 4)
    # M = 0: CCM*'s encryption-only mode is a keystream (involution), no MIC
    e0 = ccm.encrypt(KEY_C0, nonce, b"", b"hello world, 17b", 0)
    assert len(e0) == 16 and ccm.encrypt(KEY_C0, nonce, b"", e0, 0) == b"hello world, 17b"
    # long messages cross several counter blocks
    m = bytes(range(100))
    assert ccm.decrypt(KEY_C0, nonce, b"hdr", ccm.encrypt(KEY_C0, nonce, b"hdr", m), 4) == m


def test_aps_transport_key_vector_decrypts():
    # han.md §3: the key-transport key of the zbtk install-code key opens the capture
    f = aps.parse(APS_SECURED)
    n = sec.nonce(f.aux.src, f.aux.fc, f.aux.scf(5))
    assert n == U("6C5948FEFFF52E3C" "7EB00100" "35")
    p = aps.open_(f, ZBTK_LINK)
    assert p[:2] == U("0501") and p[2:18] == ZBTK_NWK
    # and the Trust Centre side rebuilds the identical frame
    again = keytransport.seal_nwk_key(ZBTK_LINK, ZBTK_NWK, 0, TC, JOINER, 0xD7, 110718)
    assert again == APS_SECURED
    assert keytransport.open_nwk_key(APS_SECURED, ZBTK_LINK, TC, JOINER) == (ZBTK_NWK, 0)
    # the wrong link key, the wrong joiner, another sender: refused
    e = _t.raises(Reject, keytransport.open_nwk_key, APS_SECURED, U("66B6900981E1EE3CA4206B6B861C02BB"),
                  TC, JOINER)
    assert e.reason == "mic"
    _t.raises(Reject, keytransport.open_nwk_key, APS_SECURED, ZBTK_LINK, TC, JOINER + 1)
    _t.raises(Reject, keytransport.open_nwk_key, APS_SECURED, ZBTK_LINK, TC + 1, JOINER)


def test_nwk_security_round_trip_and_tamper():
    key = U("ABCDEF01234567890000000000000000")
    src = 0x00DB123456789093
    payload = aps.build(aps.ApsFrame(aps.DATA, 1, dst_ep=1, cluster=0x0702, profile=0x0109,
                                  src_ep=1, payload=U("000000" "0000")))
    f = nwk.NwkFrame(nwk.DATA, 0x0000, 0x1234, 9, payload=payload,
                  aux=sec.Aux(sec.KEY_NWK, 77, src=src, key_seq=0))
    raw = nwk.build(f, key)
    hdr = nwk.header(f)
    assert raw[:8] == hdr and hdr[:2] == U("4802")
    # aux on air: level 0, key id 1, extended nonce = 0x28; counter; source; key sequence
    assert raw[8:22] == U("28" "4D000000" "939078563412DB00" + "00")
    assert len(raw) == 22 + len(payload) + 4
    assert raw[22:-4] != payload
    g = nwk.parse(raw)
    assert g.security and g.aux.src == src and g.aux.key_seq == 0
    assert nwk.open_(g, key) == payload
    for i in (0, 7, 9, 21, 22, len(raw) - 1):  # header, aux, ciphertext, MIC all authenticated
        bad = bytearray(raw)
        bad[i] ^= 0x01
        try:
            h = nwk.parse(bytes(bad))
        except Reject:
            continue
        e = _t.raises(Reject, nwk.open_, h, key)
        assert e.reason == "mic"
    _t.raises(Reject, nwk.open_, nwk.parse(raw), U("ABCDEF01234567890000000000000001"))
    for level in (1, 5, 7):  # level bits are outside the MIC: only 0 on air is accepted
        bad = bytearray(raw)
        bad[8] |= level
        e = _t.raises(Reject, nwk.open_, nwk.parse(bytes(bad)), key)
        assert e.reason == "format"
    _t.raises(Reject, nwk.build, f)  # no key


def test_aps_link_key_security():
    link = U("17E92CAAA342C367E8EDDC58EEBA69ED")
    src = 0x00DB1234567890A2
    f = aps.ApsFrame(aps.DATA, 0x42, dst_ep=1, cluster=0x0704, profile=0x0109, src_ep=1,
                  payload=b"\x01\x05\x02tunnelled GBCS", aux=sec.Aux(sec.KEY_DATA, 1000, src=src))
    raw = aps.build(f, link)
    assert raw[:8] == U("20" "01" "0407" "0901" "01" "42")  # data frame, security
    assert raw[8] == 0x20  # data key, extended nonce, level 0 on air
    g = aps.parse(raw)
    assert aps.open_(g, link) == f.payload
    # without the extended nonce the receiver supplies the sender's EUI-64
    f2 = aps.ApsFrame(aps.DATA, 0x43, dst_ep=1, cluster=0x0704, profile=0x0109, src_ep=1,
                   payload=b"x", aux=sec.Aux(sec.KEY_DATA, 1001))
    raw2 = aps.build(f2, link, src)
    assert raw2[8] == 0x00
    _t.raises(Reject, aps.open_, aps.parse(raw2), link)
    assert aps.open_(aps.parse(raw2), link, src) == b"x"
    _t.raises(Reject, aps.open_, aps.parse(raw2), link, src + 1)
