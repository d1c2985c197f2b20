"""An independent mode C client (raw bytes, its own BCC and data-set parser; nothing from
firmware.optical) against the port on a pty: sign-on, identification, readout with data sets,
programming mode with the P0 challenge, P1 refused, error replies, NAK on a bad BCC, B0 sign-off
(IEC 62056-21 as summarised in shared/reference/optical.md §1.2-§1.4)."""
import re
import time

import pytest

from test_optical_rig import PtyMeter

EUI = bytes.fromhex("00DB1234567890A0")
DATASET = re.compile(rb"^([^()/!]{1,16})\(([^()*/!]{0,32})(?:\*([^()/!]{1,16}))?\)$")


def xor7(b):
    x = 0
    for c in b:
        x ^= c
    return x & 0x7F


@pytest.fixture
def ser():
    m = PtyMeter(EUI, lambda issuer: None).start()
    s = m.hht_serial()
    yield s
    s.close()
    m.close()


def read_until(ser, pred, timeout=3.0):
    got = b""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        got += ser.read(1)
        if pred(got):
            return got
    raise AssertionError("no complete reply: %r" % got)


def frame_done(b):
    i = max(b.find(b"\x03"), b.find(b"\x04"))
    return i >= 0 and len(b) > i + 1


def checked(frame):
    assert frame[0] in (0x01, 0x02), frame
    assert xor7(frame[1:-1]) == frame[-1], frame
    return frame[1:-2]


def test_sign_on_readout_programming_and_errors(ser):
    ser.write(b"/?!\r\n")
    ident = read_until(ser, lambda b: b.endswith(b"\r\n"))
    assert re.match(rb"^/[A-Z]{2}[a-z][0-6][ -~]{1,16}\r\n$", ident), ident
    baud = ident[4:5]
    ser.write(b"\x060" + baud + b"0\r\n")
    body = checked(read_until(ser, frame_done))
    assert body.endswith(b"\r\n!\r\n")
    sets = [DATASET.match(ln) for ln in body[:-5].split(b"\r\n")]
    assert all(sets), body
    d = dict((m.group(1), (m.group(2), m.group(3))) for m in sets)
    assert d[b"C.1.0"] == (b"00DB1234567890A0", None) and d[b"1.8.0"] == (b"0001234.567", b"kWh")
    # programming mode: the meter opens with P0 and an operand (the challenge)
    ser.write(b"/?!\r\n")
    read_until(ser, lambda b: b.endswith(b"\r\n"))
    ser.write(b"\x060" + baud + b"1\r\n")
    p0 = read_until(ser, frame_done)
    assert p0[:4] == b"\x01P0\x02" and re.match(rb"^\([0-9A-F]{32}\)$", checked(p0)[3:])
    # P1 with a plain password: an error message, nothing unlocked
    cmd = b"P1\x02(00000000)\x03"
    ser.write(b"\x01" + cmd + bytes((xor7(cmd),)))
    assert checked(read_until(ser, frame_done)) == b"(ER09)"
    cmd = b"R1\x021.8.0()\x03"
    ser.write(b"\x01" + cmd + bytes((xor7(cmd),)))
    assert checked(read_until(ser, frame_done)) == b"(ER03)"
    # a wrong BCC is answered NAK; NAK from the HHU repeats the last message
    ser.write(b"\x01" + cmd + bytes((xor7(cmd) ^ 1,)))
    assert read_until(ser, lambda b: len(b) >= 1) == b"\x15"
    # complete sign-off: silence, and the meter is back in its start state
    ser.write(b"\x01B0\x03q")
    time.sleep(0.3)
    assert ser.read(100) == b""
    ser.write(b"\x01" + cmd + bytes((xor7(cmd),)))
    time.sleep(0.3)
    assert ser.read(100) == b""
    ser.write(b"/?!\r\n")
    assert read_until(ser, lambda b: b.endswith(b"\r\n")) == ident
