"""The device's ASN.1 DER codec (firmware/core/asn1.py; X.690 §8/§10, RFC 5480 §2.2 ECDSA-Sig-Value)
on byte fixtures: GBCS content from RTDS (a CS02a command, the CS06 response, a JoinDevice) decoded
field by field, the encoders reproducing RTDS bytes (including the 82 nn nn length form GBCS writes
from 128 up), the r||s <-> DER signature conversion, and malformed inputs refused with 0x8F1E."""
import _t
from firmware.alerts import Reject, INTEGRITY_FAILED
from firmware.core import asn1 as D

# 6.24.1_CS02aMAC command content: { {ACB(4), keyAgreement}, {supplier(2), networkOperator(3)} }
CS02A = _t.unhex("30113007020104030203083006020102020103")
# 11.3_CS06 IMMEDIATE_SUCCESS response content: { 0, '0123ABCE'H }
CS06_RSP = _t.unhex("300902010004040123abce")
# 8.7.1_CS03A1 SUCCESS command: { methodAInitiator(0), 00DB12345678909A, HCALCS(4) }
JOIN = _t.unhex("3010020100040800db12345678909a020104")


def test_decode_cs02a_command_field_by_field():
    top = D.head(CS02A, 0)
    assert top == (0x30, 2, 19, 0)
    cell, roles = D.items(CS02A, top[1], top[2])
    assert cell[0] == D.SEQUENCE and roles[0] == D.SEQUENCE
    role, ku = D.items(CS02A, cell[1], cell[2])
    assert D.uint(CS02A, role[1], role[2]) == 4
    assert ku[0] == D.BIT_STRING and bytes(CS02A[ku[1]:ku[2]]) == b"\x03\x08"
    assert [D.uint(CS02A, x[1], x[2]) for x in D.items(CS02A, roles[1], roles[2])] == [2, 3]
    assert D.raw(CS02A, cell) == _t.unhex("3007020104030203 08".replace(" ", ""))


def test_encoders_reproduce_rtds_bytes():
    assert D.seq(D.integer(0), D.octets(_t.unhex("0123abce"))) == CS06_RSP
    assert D.seq(D.integer(0), D.octets(_t.unhex("00db12345678909a")), D.integer(4)) == JOIN
    assert D.integer(3) == b"\x02\x01\x03" and D.enum(10) == b"\x0a\x01\x0a"
    assert D.integer(1000) == b"\x02\x02\x03\xe8" and D.integer(0x80) == b"\x02\x02\x00\x80"
    assert D.integer(6001) == b"\x02\x02\x17\x71" and D.null() == b"\x05\x00"
    assert D.seq(D.null()) == b"\x30\x02\x05\x00"
    # GBCS writes lengths from 128 as 82 nn nn (RTDS CS02a response 30 82 00 9F); DER proper 81 nn
    assert D.length(0x7F) == b"\x7f" and D.length(0x9F) == b"\x82\x00\x9f"
    assert D.length(0x9F, True) == b"\x81\x9f" and D.length(0x113, True) == b"\x82\x01\x13"
    big = D.seq(b"\x04\x81" + bytes(1) * 0)  # content itself is not parsed by the encoder
    assert big[:2] == b"\x30\x02"


def test_long_length_forms_are_read():
    for b in (b"\x04\x81\x02ab", b"\x04\x82\x00\x02ab", b"\x04\x83\x00\x00\x02ab", b"\x04\x02ab"):
        t, s, e, h = D.head(b, 0)
        assert (t, b[s:e], h) == (D.OCTET_STRING, b"ab", 0)
    body = bytes(200)
    enc = D.octets(body)
    assert enc[:4] == b"\x04\x82\x00\xc8" and D.head(enc, 0)[1:3] == (4, 204)


def test_signature_conversion_round_trips():
    r = (0x95 << 248) | 1  # high bit set: DER adds a 00 byte
    s = 5
    rs = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    der = D.sig_der(rs)
    assert der[:4] == b"\x30\x26\x02\x21" and der[4] == 0 and der[-3:] == b"\x02\x01\x05"
    assert D.sig_raw(der) == rs


def test_malformed_input_refused():
    for bad in (b"", b"\x30", b"\x30\x05\x02\x01", b"\x1f\x01\x00", b"\x04\x80", b"\x04\x84\x00\x00\x00\x01a",
                b"\x04\x82\x00"):
        e = _t.raises(Reject, D.head, bad, 0)
        assert e.code == INTEGRITY_FAILED
    for content in (b"", b"\x80", b"\x00\x01", bytes(10)):
        e = _t.raises(Reject, D.uint, content, 0, len(content))
        assert e.code == INTEGRITY_FAILED
    assert D.uint(b"\x00\x80", 0, 2) == 0x80
    _t.raises(Reject, D.expect, (0x02, 0, 0, 0), D.SEQUENCE)
    _t.raises(Reject, D.integer, -1)
    _t.raises(Reject, D.sig_raw, D.seq(D.integer(1)))
