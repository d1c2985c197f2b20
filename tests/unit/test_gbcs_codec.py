"""GBCS framing codec (firmware/gbcs/ber.py, frame.py; gbcs.md §2) on the project's own fixtures
(tests/vectors/gbcs/*.hex, built on the host with independent crypto) and malformed inputs."""
import _t
from firmware.alerts import Reject, INTEGRITY_FAILED
from firmware.gbcs import ber, frame

FIXTURES = ("cmd_ecs42", "cmd_ecs43", "cmd_ecs44", "cmd_ecs45", "cmd_ecs03", "cmd_unknown",
            "cmd_other_eui", "cmd_ecs42_unsigned", "resp_ecs45", "shape_dt_supp", "shape_cert",
            "shape_alert_long")
SUPPLIER = _t.unhex("02534d4c00000201")
DEVICE = _t.unhex("02534d4c01010001")


from gbcs_fixtures import vec  # noqa: E402


def _fmt(b):
    e = _t.raises(Reject, frame.parse, b)
    assert e.reason == "format" and e.code == INTEGRITY_FAILED, str(e)


def test_ber_lengths_round_trip_and_boundaries():
    for n, enc in ((0, "00"), (0x7F, "7f"), (0x80, "8180"), (0xFF, "81ff"), (0x100, "820100"),
                   (0x1EA, "8201ea"), (0xFFFF, "82ffff"), (0x10000, "83010000")):
        b = ber.encode_len(n)
        assert _t.hexs(b) == enc
        # decode_len only checks that n bytes fit before `end`; the buffer needs no payload
        assert ber.decode_len(b, 0, len(b) + n) == (n, len(b))
        if n:
            e = _t.raises(Reject, ber.decode_len, b, 0, len(b) + n - 1)
            assert e.code == INTEGRITY_FAILED


def test_ber_rejects_non_minimal_long_and_overrun():
    for bad in ("8105" + "00" * 5, "820080" + "00" * 0x80, "80", "8400000001", "8101", "05"):
        b = _t.unhex(bad)
        e = _t.raises(Reject, ber.decode_len, b, 0, len(b))
        assert e.code == INTEGRITY_FAILED


def test_fixtures_round_trip_exactly():
    for n in FIXTURES:
        b = vec(n)
        m = frame.parse(b)
        assert frame.build(m) == b, n
        m2 = frame.parse(frame.build(m))
        assert m2.other_info() == m.other_info() and m2.content == m.content


def test_critical_command_fields_and_auth_views():
    b = vec("cmd_ecs42")
    m = frame.parse(b)
    assert m.mac_header and m.cra == frame.CRA_COMMAND and m.counter == 0x10
    assert m.originator == SUPPLIER and m.recipient == DEVICE
    assert m.message_code == 0x4F and m.date_time is None
    assert len(m.signature) == 64 and m.mac == b[-12:]
    signed = bytes(m.signed())
    assert signed[:2] == b"\x09\x01" and signed[-len(m.content):] == m.content
    aad = m.mac_aad()
    assert aad[:7] == b"\x11\x00\x00\x00\x00\x00\xDF"
    assert aad[-65:] == b"\x40" + m.signature and len(aad) == 6 + len(b) - 14 - 12 + 0


def test_noncritical_and_response_shapes():
    m = frame.parse(vec("cmd_ecs45"))
    assert m.signature == b"" and m.message_code == 0x52
    r = frame.parse(vec("shape_dt_supp"))
    assert r.cra == frame.CRA_RESPONSE and r.date_time == _t.unhex("07ea0b17ff16000000800000")
    assert r.supp_remote_id == SUPPLIER and r.supp_remote_counter == 0x3EA
    assert len(r.other_info()) == 18
    c = frame.parse(vec("shape_cert"))
    assert c.ka_cert[:3] == b"\x30\x81\x90" and len(c.other_info()) == 18 + 147
    a = frame.parse(vec("shape_alert_long"))
    assert not a.mac_header and a.mac is None and a.cra == frame.CRA_ALERT
    assert len(a.content) == 300 and b"\x82\x01\x2c\x0f" in a.raw


def test_every_truncation_is_rejected():
    b = vec("cmd_ecs45")
    for i in range(len(b)):
        _fmt(b[:i])


def test_malformed_headers_rejected():
    b = bytearray(vec("cmd_ecs45"))
    p = frame.parse(bytes(b)).gs_start
    cases = []
    for off, val in ((1, 1), (p - 5, 0x10), (p, 0xDE), (p + 1, 8), (p + 2, 0), (p + 2, 4),
                     (p + 11, 7), (p + 20, 9), (p + 29, 5)):
        c = bytearray(b)
        c[off] = val
        cases.append(bytes(c))
    cases.append(bytes(b) + b"\x00")  # outer length no longer matches
    for c in cases:
        _fmt(c)
    # signature length other than 00/40, other-information length 5
    m = frame.parse(bytes(b))
    c = bytearray(b)
    c[m.signed_end] = 0x20
    _fmt(bytes(c))
    oi = m.gs_start + 30
    c = bytearray(b)
    assert c[oi] == 2
    c[oi] = 5
    _fmt(bytes(c))


def test_precommand_without_signature_field_parses():
    m = frame.Message(cra=1, counter=5, originator=SUPPLIER, recipient=DEVICE, message_code=0x4F,
                      content=b"\xd9", signature=None, mac_header=False)
    raw = frame.build(m)
    p = frame.parse(raw)
    assert p.signature is None and p.mac is None and frame.build(p) == raw
    # with a MAC Header the signature-length field is mandatory
    m.mac_header = True
    _fmt(frame.build(m))
