"""Mode C session on an in-memory stream: sign-on, readout, programming-mode challenge, refusals
before login, P1, failed-login lockout across reboot, NAK, inactivity timeout, noise
(docs/optical-port.md)."""
from firmware.crypto import p256  # noqa: F401,I001  (first: compiled on a fresh heap)
import test_optical_support as S  # noqa: I001  (first: compiles the store on a fresh heap)
import binascii
import gc
import os

import _t
from firmware.core import seclog
from firmware.optical import iec, port

# Compiling durable.py + the optical modules from source peaks above 96K in the unix port's
# compiler (durable.py alone needs ~80K to compile); a device runs precompiled/frozen bytecode.
# The port's own run-time RAM per session is bounded in test_session_ram_budget below.
MP_HEAPSIZE = "256K"


def err(text):
    return iec.error_message(text)


def test_sign_on_and_readout():
    m = S.Meter()
    try:
        assert m.talk(b"/?!\r\n") == b"/SMl5SMLAB-ESME\r\n"
        out = m.talk(b"\x06050\r\n")
        data = S.unframe(out)
        assert data.endswith(b"\r\n!\r\n")
        lines = data[:-5].split(b"\r\n")
        assert lines[0] == b"C.1.0(00DB1234567890A0)"
        assert b"1.8.0(0001234.567*kWh)" in lines and b"96.3.10(1)" in lines
        for ln in lines:
            assert iec.parse_data_set(ln)[0]
        assert m.stream.bauds == [9600, 300]
        assert m.port.state == port.IDLE
        assert m.security()[-1] == "81A5 optical readout"
        # an addressed request for this meter is answered, one for another meter is not
        assert m.talk(b"/?00DB1234567890A0!\r\n").startswith(b"/SMl5")
        m.talk(iec.command("B0"))
        assert m.talk(b"/?00DB1234567890A1!\r\n") == b""
    finally:
        m.close()


def test_programming_mode_sends_fresh_nonce():
    m = S.Meter()
    try:
        n1 = S.challenge_of(m.sign_on_prog())
        assert len(n1) == 16 and m.port.state == port.CHALLENGE
        assert m.talk(iec.command("B0")) == b"" and m.port.state == port.IDLE
        n2 = S.challenge_of(m.sign_on_prog())
        assert n1 != n2
        ents = m.security()
        assert ents == ["81A5 optical session end B0 cmds=0 refused=0"]  # 2nd: quiet minute
    finally:
        m.close()


def test_sign_on_floods_cannot_flush_the_security_log():
    m = S.Meter()
    try:
        seclog.optical(m.store).append("8F3D evidence")
        for i in range(200):
            m.sign_on_prog()
            m.talk(iec.command("R1", "1.8.0()"))
            m.talk(iec.command("B0"))
            m.talk(iec.request())
            m.talk(iec.option_select("0", "5", "0"))
        ents = m.security()
        assert ents[0] == "8F3D evidence" and len(ents) <= 8  # ~200 s of flooding: 1 per minute
        m.clock.advance(port.QUIET_MS)
        m.talk(iec.request())
        m.talk(iec.option_select("0", "5", "0"))
        assert "unlogged)" in m.security()[-1]
    finally:
        m.close()


def test_commands_before_login_refused():
    m = S.Meter()
    try:
        before = m.persistent()
        m.sign_on_prog()
        assert m.talk(iec.command("R1", "1.8.0()")) == err("ER03")
        assert m.talk(iec.command("W1", "C.LS(0)")) == err("ER03")
        assert m.talk(iec.command("E2", "GBCS(00)")) == err("ER03")
        # P1 plain password: unlocks nothing
        m.clock.advance(port.QUIET_MS)  # (unauthenticated events: one log entry per minute)
        assert m.talk(iec.command("P1", "(00000000)")) == err("ER09")
        assert m.port.state == port.CHALLENGE
        # a bad BCC is answered NAK, an unknown command with an error
        assert m.talk(b"\x01R1\x021.8.0()\x03\x00") == bytes((iec.NAK,))
        assert m.talk(iec.command("X5")) == err("ER01")
        ents = m.security()
        assert sum(1 for e in ents if e.startswith("8F3E optical")) == 1  # once per session
        assert sum(1 for e in ents if e.startswith("8F53 optical P1")) == 1
        assert m.persistent() == before
        m.talk(iec.command("B0"))
        assert m.port.state == port.IDLE
        assert m.talk(iec.command("R1", "1.8.0()")) == b""  # silence outside a session
    finally:
        m.close()


def test_nak_repeats_last_message():
    m = S.Meter()
    try:
        p0 = m.sign_on_prog()
        assert m.talk(bytes((iec.NAK,))) == p0
    finally:
        m.close()


def bad_p2(m, value):
    return m.talk(iec.command("P2", value))


def test_failed_logins_lock_port_across_reboot():
    m = S.Meter()
    try:
        m.sign_on_prog()
        assert bad_p2(m, "(ZZ)") == err("ER04")  # one answer per challenge: session ends
        assert m.port.state == port.IDLE
        m.sign_on_prog()
        assert bad_p2(m, "(" + "00" * 222 + ")") == err("ER04")
        m.sign_on_prog()
        assert bad_p2(m, "(1234)") == err("ER05")
        # locked: programming mode is refused with the time left, nothing else happens
        assert m.talk(iec.request()).startswith(b"/SMl5")
        assert m.talk(iec.option_select("0", "5", "1")) == err("ER05 60")
        # reboot: the lock survives
        m2 = m.reboot()
        m2.clock.advance(10000)
        m2.talk(iec.request())
        assert m2.talk(iec.option_select("0", "5", "1")) == err("ER05 50")
        # the public readout stays available during the lock
        m2.talk(iec.request())
        assert S.unframe(m2.talk(iec.option_select("0", "5", "0"))).startswith(b"C.1.0(")
        m2.clock.advance(50000)
        S.challenge_of(m2.sign_on_prog())
        ents = m2.security()
        assert sum(1 for e in ents if e[:2] == "8F" and "login failed" in e) == 3
        assert any(e.startswith("8F3E optical sign-on while locked") for e in ents)
        assert "(locked 60 s)" in [e for e in ents if e[:2] == "8F" and "login failed" in e][-1]
    finally:
        m.close()


def test_inactivity_timeout_returns_to_start():
    m = S.Meter()
    try:
        m.sign_on_prog()
        assert m.stream.bauds == [9600]
        m.clock.advance(port.INACTIVITY_MS - 500)
        m.port.poll()
        assert m.port.state == port.CHALLENGE
        m.clock.advance(1000)
        m.port.poll()
        assert m.port.state == port.IDLE and m.stream.bauds == [9600, 300]
        assert m.security()[-1].startswith("81A5 optical session end timeout")
        assert m.talk(iec.command("P2", "(00)")) == b""
        # the identification state times out too
        m.talk(iec.request())
        m.clock.advance(port.INACTIVITY_MS + 1)
        m.port.poll()
        assert m.port.state == port.IDLE
    finally:
        m.close()


def test_stray_stx_then_sign_on_retried_every_second():
    """One stray STX, then a terminal that repeats its sign-on request every 1.0 s (so the 1.5 s
    inter-character gap never expires): the first request is answered."""
    for state in ("idle", "auth"):
        m = S.Meter()
        try:
            if state == "auth":
                assert m.login() == bytes((iec.ACK,))
            m.stream.rx += b"\x02"
            m.port.poll()
            answers = []
            for _ in range(3):
                m.clock.advance(1000)
                answers.append(m.talk(iec.request()))
            assert answers[0] == b"/SMl5SMLAB-ESME\r\n", (state, answers)
            assert m.port.state == port.IDENT
            out = m.talk(iec.option_select("0", "5", "0"))
            assert S.unframe(out).startswith(b"C.1.0(00DB1234567890A0)")
        finally:
            m.close()


def test_option_select_errors():
    m = S.Meter()
    try:
        for opt in (b"\x06151\r\n", b"\x06061\r\n", b"\x06052\r\n", b"\x0605", b"\x06x"):
            m.talk(iec.request())
            out = m.talk(opt)
            assert out == b"", opt
            m.clock.advance(port.IDENT_MS + 100)
            m.port.poll()
            assert m.port.state == port.IDLE
        # a slower baud than offered is accepted
        m.talk(iec.request())
        assert S.unframe(m.talk(b"\x06030\r\n"))
        assert m.stream.bauds[-2:] == [2400, 300]
    finally:
        m.close()


def test_noise_and_random_frames_no_state_change():
    m = S.Meter()
    try:
        before = m.persistent()
        cmds = ("R1", "W1", "E2", "P0", "P1", "B1", "R5", "W5", "E1")
        for i in range(300):
            r = os.urandom(24)
            k = r[0] % 6
            if k == 0:
                m.talk(r)  # raw noise
            elif k == 1:
                m.talk(iec.request())
            elif k == 2:
                m.talk(iec.option_select("0", "5", "1"))
            elif k == 3:
                data = binascii.hexlify(r[2:2 + r[1] % 20])
                out = m.talk(iec.command(cmds[r[1] % len(cmds)], b"(" + data + b")"))
                for msg in S.replies(out):
                    assert msg in (bytes((iec.NAK,)), b"/SMl5SMLAB-ESME\r\n") or \
                        msg[0] == iec.SOH or S.unframe(msg).startswith(b"(ER"), out
            elif k == 4:
                m.talk(r[:r[1] % 24])  # truncated junk; the gap timeout clears it
                m.clock.advance(1600)
            else:
                f = bytearray(iec.command("R1", b"1.8.0()"))
                f[r[2] % len(f)] ^= 1 + r[3] % 127  # corrupted frame
                S.replies(m.talk(bytes(f)))
        assert m.persistent() == before
        assert len(m.security()) < 300
    finally:
        m.close()


def test_session_ram_budget():
    """Run-time heap held by the port across a session stays small (device path, MicroPython)."""
    if not hasattr(gc, "mem_alloc"):
        _t.skip("heap accounting is MicroPython only")
    m = S.Meter()
    try:
        m.talk(iec.request())
        m.talk(iec.option_select("0", "5", "0"))  # warm-up: every code path imported
        m.sign_on_prog()
        m.talk(iec.command("B0"))
        gc.collect()
        base = gc.mem_alloc()
        peak = 0
        for _ in range(3):
            m.talk(iec.request())
            m.talk(iec.option_select("0", "5", "0"))
            m.sign_on_prog()
            m.talk(iec.command("R1", "1.8.0()"))
            m.talk(iec.command("P2", "(" + "00" * 40 + ")"))
            gc.collect()
            peak = max(peak, gc.mem_alloc() - base)
        assert peak < 4096, peak
    finally:
        m.close()
