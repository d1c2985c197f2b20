"""IEC 62056-21 framing byte fixtures (shared/reference/optical.md §1.2-§1.4) and receiver
robustness."""
import _t
from firmware.alerts import Reject
from firmware.optical import iec


def test_bcc_fixtures():
    # optical.md §1.4 fixtures: SOH B0 ETX -> 'q'; SOH P0 STX (1234567) ETX -> 'P'
    assert iec.command("B0") == b"\x01B0\x03q"
    assert iec.command("P0", "(1234567)") == b"\x01P0\x02(1234567)\x03P"
    assert iec.command("R1", "1.8.0(1)") == b"\x01R1\x021.8.0(1)\x03k"
    assert iec.data_message(b"3:14(314*kWh)4:15(415*kWh)\r\n!\r\n") == \
        b"\x023:14(314*kWh)4:15(415*kWh)\r\n!\r\n\x03\x22"
    # BCC is XOR of everything after SOH/STX up to and including ETX, 7-bit
    assert iec.bcc(b"B0\x03") == 0x71
    assert iec.bcc(b"\xff") == 0x7F


def test_builders():
    assert iec.request() == b"/?!\r\n"
    assert iec.request("45678903") == b"/?45678903!\r\n"
    assert iec.option_select("0", "5", "1") == b"\x06051\r\n"
    assert iec.identification("Els", "6", "\\2EK280") == b"/Els6\\2EK280\r\n"
    assert iec.error_message("ER01") == b"\x02(ER01)\x03" + bytes((iec.bcc(b"(ER01)\x03"),))
    assert iec.command("W1", "C.1(12)", partial=True)[-2] == iec.EOT
    r = iec.readout([iec.data_set("1.8.0", "0033402.264", "kWh")])
    assert r == b"\x021.8.0(0033402.264*kWh)\r\n!\r\n\x03" + bytes((iec.bcc(r[1:-1]),))
    assert iec.baud_rate("5") == 9600 and iec.baud_rate("0") == 300
    _t.raises(Reject, iec.baud_rate, "7")
    _t.raises(Reject, iec.identification, "ELSX", "5", "x")
    _t.raises(Reject, iec.error_message, "E" * 33)
    _t.raises(Reject, iec.readout, ["x" * 79])


def test_data_sets():
    assert iec.data_set("1.8.0", "0033402.264", "kWh") == b"1.8.0(0033402.264*kWh)"
    assert iec.data_set("C.1.0", "00DB") == b"C.1.0(00DB)"
    assert iec.parse_data_set(b"1.8.0(0033402.264*kWh)") == ("1.8.0", "0033402.264", "kWh")
    assert iec.parse_data_set(b"(abc)") == ("", "abc", "")
    for bad in (b"1.8.0", b"1.8.0(1", b"1.8.0(1))", b"1(2)(3)", b"a!b(1)", b"x(1/2)",
                b"x(" + b"9" * 129 + b")", b"y" * 17 + b"(1)", b"x(1*" + b"u" * 17 + b")",
                b"x(\x07)"):
        _t.raises(Reject, iec.parse_data_set, bad)
    _t.raises(Reject, iec.data_set, "1.8(0)", "1")
    _t.raises(Reject, iec.data_set, "1.8.0", "1.2.3")
    _t.raises(Reject, iec.data_set, "1.8.0", "1*2")
    _t.raises(Reject, iec.data_set, "1.8.0", "1" * 33)


def feed_all(rx, data, t=0):
    out = []
    for b in data:
        ev = rx.feed(b, t)
        if ev is not None:
            out.append(ev)
    return out


def test_receiver_messages():
    rx = iec.Receiver()
    assert feed_all(rx, b"/?!\r\n") == [("request", "")]
    assert feed_all(rx, b"/?45678903!\r\n") == [("request", "45678903")]
    assert feed_all(rx, b"\x06051\r\n") == [("option", "0", "5", "1")]
    assert feed_all(rx, b"\x01B0\x03q") == [("cmd", "B0", None, False)]
    assert feed_all(rx, b"\x01P0\x02(1234567)\x03P") == [("cmd", "P0", b"(1234567)", False)]
    assert feed_all(rx, iec.command("W1", "C.1(12)", partial=True)) == \
        [("cmd", "W1", b"C.1(12)", True)]
    assert feed_all(rx, b"\x15") == [("nak",)]
    assert feed_all(rx, iec.data_message("(x)")) == [("data", b"(x)", False)]
    # 7E1 on the wire: a parity bit set on a byte is stripped
    assert feed_all(rx, bytes((0x2F | 0x80, 0x3F, 0x21, 0x0D | 0x80, 0x0A))) == [("request", "")]


def test_receiver_errors():
    rx = iec.Receiver()
    assert feed_all(rx, b"\x01B0\x03r") == [("badbcc",)]
    assert feed_all(rx, b"\x01R1\x021.8.0(1)\x03j") == [("badbcc",)]
    assert feed_all(rx, b"/X") == [("malformed", "request")]
    assert feed_all(rx, b"/?" + b"1" * 33) == [("malformed", "request address too long")]
    assert feed_all(rx, b"/?a-b!\r\n") == [("malformed", "request address char")]
    assert feed_all(rx, b"\x06A") == [("malformed", "option char")]
    assert feed_all(rx, b"\x01b0") == [("malformed", "command letter")]
    assert feed_all(rx, b"\x01BX") == [("malformed", "command type")]
    assert feed_all(rx, b"\x01B0Z") == [("malformed", "command without STX")]
    ev = feed_all(rx, b"\x01W1\x02" + b"9" * (iec.MAX_FRAME_DATA + 1))
    assert ev == [("malformed", "data too long")]
    # noise between messages is ignored, the next message still parses
    assert feed_all(rx, b"\x00\xff garbage \x7f" + iec.command("B0")) == [("cmd", "B0", None, False)]


def test_inter_character_timeout():
    rx = iec.Receiver()
    assert feed_all(rx, b"\x01R1\x021.8", 0) == []
    assert rx.busy()
    # 1.6 s later the half message is abandoned: the rest does not complete a frame
    assert feed_all(rx, b".0()\x03" + b"k", 1600) == []
    assert not rx.busy()
    # a slow but in-time sender (1.4 s gaps) still gets through
    t = 0
    got = []
    for b in iec.command("B0"):
        t += 1400
        ev = rx.feed(b, t)
        if ev:
            got.append(ev)
    assert got == [("cmd", "B0", None, False)]


def test_random_bytes_never_raise():
    import os

    rx = iec.Receiver()
    n = 0
    for i in range(300):
        chunk = os.urandom(40)
        for b in chunk:
            ev = rx.feed(b, i)
            if ev is not None:
                assert ev[0] in ("request", "option", "nak", "cmd", "data", "badbcc", "malformed")
                n += 1
    assert n > 0


def test_request_restarts_whatever_was_half_received():
    # a stray STX (or SOH, ACK) then a sign-on request with no pause: the request is parsed
    for stray in (b"\x02", b"\x01", b"\x01R1\x021.8.0(", b"\x06", b"\x060", b"/?12", b"/?!\r"):
        rx = iec.Receiver()
        assert feed_all(rx, stray, 0) == [] and rx.busy()
        assert feed_all(rx, b"/?!\r\n", 10) == [(iec.EV_REQUEST, "")], stray
        assert not rx.busy()
    # '/' in the BCC position: the BCC of "SOH B0 ETX" is 'q'; anything else that is a '/' is a request
    rx = iec.Receiver()
    assert feed_all(rx, b"\x01B0\x03/?!\r\n") == [(iec.EV_BADBCC,), (iec.EV_REQUEST, "")]
    # a BCC that is '/' and checks is still a BCC
    body = [b"R1\x02" + bytes((c,)) + b"()\x03" for c in range(0x41, 0x5B)
            if iec.bcc(b"R1\x02" + bytes((c,)) + b"()\x03") == 0x2F][0]
    rx = iec.Receiver()
    assert feed_all(rx, b"\x01" + body + b"/") == [(iec.EV_CMD, "R1", body[3:-1], False)]


def test_event_and_reason_constants():
    assert iec.EVENTS == ("request", "option", "nak", "cmd", "data", "badbcc", "malformed")
    rx = iec.Receiver()
    assert feed_all(rx, b"\x01R1\x02" + b"1" * 1101) == [(iec.EV_MALFORMED, iec.M_DATA_LONG)]
    assert iec.M_DATA_LONG in iec.TOO_LONG and iec.M_ADDRESS_LONG in iec.TOO_LONG
