"""HHT credential / challenge-response checks and the persisted lockout (docs/hht.md)."""
import gc

from firmware.crypto import p256  # noqa: F401,I001  (first: compiled on a fresh heap)
import test_optical_support as S

# The test process compiles p256 + store + optical from source and signs with test keys; the
# compiler's peak needs more than a device that runs precompiled/frozen bytecode (see
# docs/optical-port.md "Memory"). Device-path memory is checked in test_optical_port (96K).
MP_HEAPSIZE = "160K"
import _t
from firmware.alerts import Reject, AUTH_FAILED, NO_AUTHORITY
from firmware.optical import auth

NONCE = b"\x11" * 16


def authn(clock=None):
    return auth.Authenticator(S.anchors, S.METER_EUI, clock or S.Clock())


def test_good_answer_accepted():
    cred = authn().check(NONCE, S.p2_answer(NONCE))
    assert cred.hht_id == S.HHT_ID and cred.perms == 3 and cred.scope == S.METER_EUI


def test_any_meter_scope_accepted():
    c = S.credential(scope=auth.ANY_METER, perms=auth.PERM_READ)
    assert authn().check(NONCE, S.p2_answer(NONCE, c)).perms == auth.PERM_READ


def reason(answer, nonce=NONCE, clock=None):
    gc.collect()
    e = _t.raises(Reject, authn(clock).check, nonce, answer)
    return e.reason, e.code


def test_bad_answers_rejected():
    good = S.p2_answer(NONCE)
    # answer to a different nonce (replayed answer from an earlier session)
    assert reason(good, b"\x22" * 16) == ("login-sig", AUTH_FAILED)
    # flipped bit in the login signature / in the certified key / in the certificate signature
    for i in (200, 40, 120):
        bad = bytearray(good)
        bad[i] ^= 1
        r = reason(bytes(bad))
        assert r[1] == AUTH_FAILED, (i, r)
    # certificate signed by another supplier key
    assert reason(S.p2_answer(NONCE, S.credential(signer=S.SUP2_D)))[0] == "login-cert"
    # issuer not this meter's supplier
    assert reason(S.p2_answer(NONCE, S.credential(issuer=S.SUPPLIER2_EUI, signer=S.SUP2_D))) \
        == ("login-issuer", AUTH_FAILED)
    # credential for another meter
    assert reason(S.p2_answer(NONCE, S.credential(scope=S.OTHER_EUI))) == \
        ("login-scope", NO_AUTHORITY)
    # login signature for another meter's EUI
    assert reason(S.p2_answer(NONCE, meter=S.OTHER_EUI))[0] == "login-sig"
    # expired
    clock = S.Clock()
    assert reason(S.p2_answer(NONCE, S.credential(not_after=clock.t - 1)), clock=clock)[0] == \
        "login-expired"
    # no permissions; wrong lengths; wrong version
    assert reason(S.p2_answer(NONCE, S.credential(perms=0)))[0] == "login-perms"
    assert reason(good[:-1])[0] == "login-format"
    assert reason(good + b"\x00")[0] == "login-format"
    assert reason(b"\x02" + good[1:])[0] == "format"
    # certified key not on the curve
    c = S.credential(hht_pub=b"\x04" + b"\x01" * 64)
    assert reason(S.p2_answer(NONCE, c))[0] == "login-key"


def test_lockout_doubles_caps_and_persists():
    root = S.scratch_dir()
    try:
        clock = S.Clock()
        lk = auth.LoginLockout(S.store_at(root), "optical_lock", clock)
        assert lk.fail() == 0 and lk.fail() == 0 and not lk.locked()
        assert lk.fail() == 60 and lk.remaining() == 60
        # reboot: a new store object on the same directory keeps the lock
        lk = auth.LoginLockout(S.store_at(root), "optical_lock", clock)
        assert lk.remaining() == 60
        clock.advance(59000)
        assert lk.locked()
        clock.advance(1000)
        assert not lk.locked()
        lengths = [lk.fail() for _ in range(8)]
        assert lengths == [120, 240, 480, 960, 1920, 3840, 3840, 3840]
        lk = auth.LoginLockout(S.store_at(root), "optical_lock", clock)
        assert lk.remaining() == 3840
        lk.success()
        assert not lk.locked() and lk.failures() == 0
        lk = auth.LoginLockout(S.store_at(root), "optical_lock", clock)
        assert lk.failures() == 0 and lk.level() == 0
    finally:
        S.rmtree(root)


def test_lockout_clock_rewind_restarts_lock():
    root = S.scratch_dir()
    try:
        clock = S.Clock()
        lk = auth.LoginLockout(S.store_at(root), "l", clock)
        for _ in range(3):
            lk.fail()
        clock.t -= 100000  # RTC lost / set back: the lock does not expire early
        assert lk.remaining() == 60
    finally:
        S.rmtree(root)


def test_corrupt_lock_record_fails_locked():
    root = S.scratch_dir()
    try:
        clock = S.Clock()
        st = S.store_at(root)
        st.put("optical_lock", b"{not json")
        lk = auth.LoginLockout(S.store_at(root), "optical_lock", clock)
        assert lk.remaining() == auth.CAP_S
        st.put_json("optical_lock", {"f": "3", "lv": 0})
        lk = auth.LoginLockout(S.store_at(root), "optical_lock", clock)
        assert lk.remaining() == auth.CAP_S
        lk.success()  # a good login repairs it
        assert auth.LoginLockout(S.store_at(root), "optical_lock", clock).remaining() == 0
    finally:
        S.rmtree(root)
