"""Logged-in HHT sessions: login ok / wrong, restricted allow-list versus refused commands, rate
limit, permissions (docs/hht.md "HHT interface specification")."""
from firmware.crypto import p256  # noqa: F401,I001  (first: compiled on a fresh heap)
import test_optical_support as S  # noqa: I001  (first: compiles p256 + store on a fresh heap)
import binascii

from firmware.optical import auth, iec, port

MP_HEAPSIZE = "256K"  # compiling p256 + store + optical + this module from source (see test_optical_port)


def err(text):
    return iec.error_message(text)


def answer(value, unit=None):
    return iec.data_message(iec.data_set("", value, unit, 128))


def test_login_ok_is_audited():
    m = S.Meter()
    try:
        assert m.login() == bytes((iec.ACK,))
        assert m.port.state == port.AUTH
        assert m.security()[-1] == "81A5 optical login hht=48485400000000A7 perms=3"
        assert m.store.get("optical_lock") is None  # nothing failed, nothing written
    finally:
        m.close()


def test_wrong_login_then_good_login_clears_failures():
    m = S.Meter()
    try:
        nonce = S.challenge_of(m.sign_on_prog())
        bad = S.p2_answer(nonce, hht_d=S.SUP2_D)  # signed by a key that was not certified
        assert m.talk(iec.command("P2", "(" + binascii.hexlify(bad).decode() + ")")) == \
            err("ER04")
        assert m.security()[-2].startswith("8F3D optical login failed: login-sig")
        assert m.port.lock.failures() == 1
        # replaying a good answer to an old challenge fails as well
        old = S.challenge_of(m.sign_on_prog())
        m.talk(iec.command("B0"))
        m.sign_on_prog()
        ans = S.p2_answer(old)
        assert m.talk(iec.command("P2", "(" + binascii.hexlify(ans).decode() + ")")) == \
            err("ER04")
        assert m.port.lock.failures() == 2
        assert m.login() == bytes((iec.ACK,))
        assert m.reboot().port.lock.failures() == 0
    finally:
        m.close()


def test_three_wrong_logins_lock_even_the_right_key():
    m = S.Meter()
    try:
        for i in range(3):
            nonce = S.challenge_of(m.sign_on_prog())
            bad = S.p2_answer(nonce, S.credential(scope=S.OTHER_EUI))
            out = m.talk(iec.command("P2", "(" + binascii.hexlify(bad).decode() + ")"))
            assert out == err("ER05" if i == 2 else "ER04")
        m2 = m.reboot()
        m2.talk(iec.request())
        assert m2.talk(iec.option_select("0", "5", "1")) == err("ER05 60")
        m2.clock.advance(60000)
        assert m2.login() == bytes((iec.ACK,))
    finally:
        m.close()


def test_restricted_allowed_reads():
    m = S.Meter()
    try:
        m.login()
        before = m.persistent()
        assert m.talk(iec.command("R1", "C.1.0()")) == answer("00DB1234567890A0")
        assert m.talk(iec.command("R1", "1.8.0()")) == answer("0001234.567", "kWh")
        assert m.talk(iec.command("R1", "96.3.10()")) == answer("1")
        assert m.talk(iec.command("R1", "C.LS()")) == answer("connected")
        assert m.talk(iec.command("R1", "C.PM()")) == answer("credit")
        n = int(S.unframe(m.talk(iec.command("R1", "C.LOG.O()")))[1:-1])
        assert n == len(m.security())
        newest = S.unframe(m.talk(iec.command("R1", "C.LOG.O(0)")))
        assert newest == b"(81A5 optical login hht=48485400000000A7 perms=3)"
        assert m.talk(iec.command("R1", "C.LOG.O(999)")) == err("ER10")
        assert m.talk(iec.command("E2", "C.DT()")) == answer("OK")
        assert m.shown == ["88888888 DISPLAY TEST"]
        assert m.persistent() == before
    finally:
        m.close()


def test_restricted_refuses_everything_else():
    m = S.Meter()
    try:
        m.login()
        before = m.persistent()
        n0 = len(m.security())
        refused = [("W1", "C.LS(0)"), ("W1", "96.3.10(0)"), ("E2", "C.LS(disconnect)"),
                   ("R1", "0.0.43.0.0()"), ("E2", "C.PM(prepayment)"), ("W1", "C.PIN(1234)"),
                   ("R3", "1.8.0()"), ("E2", "C.DT(1)"), ("R1", "C.LOG.S(x)")]
        for cmd, data in refused:
            assert m.talk(iec.command(cmd, data)) == err("ER02"), (cmd, data)
        logged = m.security()[n0:]
        assert len(logged) == len(refused)
        assert all(e.startswith("8F30 optical refused") for e in logged)
        assert m.model.supply == "connected" and m.model.payment_mode == "credit"
        assert m.persistent() == before
        # malformed data fields are syntax errors; P0/P1 after login too
        assert m.talk(iec.command("R1", "1.8.0")) == err("ER01")
        assert m.talk(iec.command("R1")) == err("ER01")
        assert m.talk(iec.command("R1", "1.8.0()", partial=True)) == err("ER01")
        assert m.talk(iec.command("P1", "(x)")) == err("ER02")
    finally:
        m.close()


def test_rate_limit():
    m = S.Meter()
    try:
        m.login()
        outs = [m.talk(iec.command("R1", "C.1.0()"), settle=7) for _ in range(port.RATE_BURST + 2)]
        assert outs[:port.RATE_BURST] == [answer("00DB1234567890A0")] * port.RATE_BURST
        assert outs[port.RATE_BURST:] == [err("ER06")] * 2
        assert sum(1 for e in m.security() if e.startswith("8F60 optical rate limit")) == 1
        m.clock.advance(1000)  # RATE_PER_S tokens come back per second
        assert m.talk(iec.command("R1", "C.1.0()"), settle=7) == answer("00DB1234567890A0")
    finally:
        m.close()


def test_permissions_in_the_credential():
    m = S.Meter()
    try:
        assert m.login(S.credential(perms=auth.PERM_PASS)) == bytes((iec.ACK,))
        assert m.talk(iec.command("R1", "C.1.0()")) == err("ER02")
        m.talk(iec.command("B0"))
        assert m.login(S.credential(perms=auth.PERM_READ)) == bytes((iec.ACK,))
        assert m.talk(iec.command("E2", "GBCS(DD00)")) == err("ER02")
        assert m.security()[-1].startswith("8F30 optical pass-through not permitted")
    finally:
        m.close()


def test_random_frames_when_logged_in():
    import os

    m = S.Meter()
    try:
        m.login()
        before = m.persistent()
        for i in range(200):
            r = os.urandom(12)
            cmd = "RWEPB"[r[0] % 5] + str(r[1] % 10)
            data = bytes(0x20 + (c % 0x5F) for c in r[2:2 + r[2] % 10])
            f = iec.command(cmd, data, partial=bool(r[3] & 1)) if cmd != "B0" else b"\x01B0"
            for msg in S.replies(m.talk(f, settle=600)):
                assert msg[0] in (iec.STX, iec.NAK, iec.ACK), msg
        assert m.persistent() == before
    finally:
        m.close()
