"""HHT login by challenge-response and the persisted lockout (optical port and engineering menu).

Design (docs/hht.md "Login credential"; shared/reference/optical.md §1.6-§1.7, gbcs.md §3.1, §5):

* The supplier certifies each hand-held terminal: an HHT credential is a fixed 158-byte record

      version(1)=1 | hht_id(8) | scope(8) | not_after(4, unix s, 0 = none) | perms(1) |
      issuer(8) | hht_pub(64, x||y) | sig(64, r||s)

  where sig is an ECDSA P-256 signature by the supplier's Digital Signing key over
  SHA-256(b"SMLAB-HHT-CERT-1" || the first 94 bytes). scope is the target meter's EUI-64, or
  FF x 8 for every meter whose trust anchor holds this supplier. The meter checks it against the
  supplier DS key in its trust anchor (the same key that verifies the supplier's critical GBCS
  commands), so only terminals the current supplier authorised can log in.
* On entering programming mode the meter sends P0 with a fresh 16-byte random nonce. The HHT
  answers P2 with hex(credential || login_sig), login_sig = ECDSA by the HHT key over
  SHA-256(b"SMLAB-HHT-LOGIN-1" || nonce || meter EUI-64 || hht_id). One answer per nonce.
* perms bits: PERM_READ (restricted HHT reads), PERM_PASS (pass-through of signed commands).
* LoginLockout: LOCK_AFTER (3) consecutive failures lock for BASE_S (60 s); each further failure
  after a lock doubles the lock up to CAP_S (3840 s = 64 min). State (failures, level, lock start
  and end in RTC seconds) is one store record, written before the failure is answered, so a power
  cycle neither resets the count nor shortens the lock. A clock that jumps backwards restarts the
  lock at its full length. A successful login clears it.
"""
import hashlib

from firmware.alerts import Reject, AUTH_FAILED, AUTH_OTHER, NO_AUTHORITY
from firmware.compat import const
from firmware.optical import reasons

CRED_LEN = const(158)
_TBS_LEN = const(94)
LOGIN_SIG_LEN = const(64)
NONCE_LEN = const(16)
PERM_READ = const(1)
PERM_PASS = const(2)
ANY_METER = b"\xff" * 8
CERT_LABEL = b"SMLAB-HHT-CERT-1"
LOGIN_LABEL = b"SMLAB-HHT-LOGIN-1"

LOCK_AFTER = const(3)
BASE_S = const(60)
CAP_S = const(3840)


class LoginLockout:
    """Persisted failure counter and exponential lock for one access point (record `name`)."""

    def __init__(self, store, name, clock, after=LOCK_AFTER, base=BASE_S, cap=CAP_S):
        self.store = store
        self.name = name
        self.clock = clock
        self.after = after
        self.base = base
        self.cap = cap
        try:
            d = store.get_json(name, None)
        except Reject:
            d = False  # unreadable record
        if d is None:
            d = {"f": 0, "lv": 0, "s": 0, "u": 0}
        ok = isinstance(d, dict)
        for k in ("f", "lv", "s", "u"):
            ok = ok and isinstance(d.get(k), int)
        if not ok:  # corrupt or foreign record: fail safe, locked at the cap from now
            now = clock.time()
            d = {"f": after, "lv": 1 + _log2(cap // base), "s": now, "u": now + cap}
        self._st = d

    def _save(self):
        self.store.put_json(self.name, self._st)

    def remaining(self):
        """Seconds left of the current lock (0 when not locked)."""
        now = self.clock.time()
        st = self._st
        if st["u"] <= 0:
            return 0
        if now < st["s"]:  # clock went backwards: restart the lock from now, full length
            length = st["u"] - st["s"]
            st["s"] = now
            st["u"] = now + length
            self._save()
        left = st["u"] - now
        return left if left > 0 else 0

    def locked(self):
        return self.remaining() > 0

    def failures(self):
        return self._st["f"]

    def streak(self):
        """Failures since the last success (each failure after the first lock locks again)."""
        st = self._st
        return st["f"] if st["lv"] == 0 else self.after + st["lv"] - 1

    def level(self):
        return self._st["lv"]

    def fail(self):
        """Record one failure (persisted); returns the lock length started, or 0."""
        st = self._st
        st["f"] += 1
        length = 0
        if st["f"] >= self.after:
            length = self.base
            for _ in range(st["lv"]):
                length *= 2
                if length >= self.cap:
                    break
            if length > self.cap:
                length = self.cap
            now = self.clock.time()
            st["lv"] += 1
            st["f"] = self.after - 1  # after a lock, each further failure locks again (doubled)
            st["s"] = now
            st["u"] = now + length
        self._save()
        return length

    def success(self):
        if self._st["f"] or self._st["lv"] or self._st["u"]:
            self._st = {"f": 0, "lv": 0, "s": 0, "u": 0}
            self._save()


def _log2(n):
    k = 0
    while n > 1:
        n >>= 1
        k += 1
    return k


class Credential:
    """A parsed (not yet verified) HHT credential."""

    def __init__(self, raw):
        raw = bytes(raw)
        if len(raw) != CRED_LEN or raw[0] != 1:
            raise Reject(reasons.FORMAT, AUTH_OTHER, "HHT credential length/version")
        self.raw = raw
        self.hht_id = raw[1:9]
        self.scope = raw[9:17]
        self.not_after = int.from_bytes(raw[17:21], "big")
        self.perms = raw[21]
        self.issuer = raw[22:30]
        self.pub = b"\x04" + raw[30:94]
        self.sig = raw[94:158]

    def tbs_hash(self):
        return hashlib.sha256(CERT_LABEL + self.raw[:_TBS_LEN]).digest()


def encode_credential(hht_id, scope, not_after, perms, issuer, pub64, sig=None):
    """The 94 signed bytes (sig None) or the full 158-byte credential."""
    if len(hht_id) != 8 or len(scope) != 8 or len(issuer) != 8 or len(pub64) != 64:
        raise Reject(reasons.FORMAT, None, "credential field lengths")
    tbs = b"\x01" + bytes(hht_id) + bytes(scope) + int(not_after).to_bytes(4, "big") + \
        bytes((perms,)) + bytes(issuer) + bytes(pub64)
    if sig is None:
        return tbs
    if len(sig) != 64:
        raise Reject(reasons.FORMAT, None, "credential signature length")
    return tbs + bytes(sig)


def cert_hash(tbs94):
    return hashlib.sha256(CERT_LABEL + bytes(tbs94)).digest()


def login_hash(nonce, meter_eui, hht_id):
    return hashlib.sha256(LOGIN_LABEL + bytes(nonce) + bytes(meter_eui) + bytes(hht_id)).digest()


class Authenticator:
    """Checks P2 answers. anchors(issuer_eui8) -> the supplier DS public key (SEC1 bytes or a
    firmware.crypto.verifykey.VerifyKey) or None when that party is not this meter's supplier;
    meter_eui: the meter's EUI-64 (8 bytes)."""

    def __init__(self, anchors, meter_eui, clock):
        self.anchors = anchors
        self.meter_eui = bytes(meter_eui)
        self.clock = clock

    def check(self, nonce, answer):
        """Verify a P2 answer (bytes: credential || login_sig) for `nonce`; returns the
        Credential, or raises Reject with the alert code for the security log."""
        from firmware.crypto.verifykey import verify

        if len(answer) != CRED_LEN + LOGIN_SIG_LEN:
            raise Reject(reasons.LOGIN_FORMAT, AUTH_OTHER, "P2 answer length %d" % len(answer))
        cred = Credential(answer[:CRED_LEN])
        pub = self.anchors(cred.issuer)
        if pub is None:
            raise Reject(reasons.LOGIN_ISSUER, AUTH_FAILED, "issuer is not this meter's supplier")
        if cred.scope != ANY_METER and cred.scope != self.meter_eui:
            raise Reject(reasons.LOGIN_SCOPE, NO_AUTHORITY, "credential for another meter")
        if cred.not_after and self.clock.time() > cred.not_after:
            raise Reject(reasons.LOGIN_EXPIRED, AUTH_FAILED, "credential expired")
        if not cred.perms & (PERM_READ | PERM_PASS):
            raise Reject(reasons.LOGIN_PERMS, NO_AUTHORITY, "credential grants nothing")
        if not verify(pub, cred.tbs_hash(), cred.sig):
            raise Reject(reasons.LOGIN_CERT, AUTH_FAILED, "credential signature")
        try:
            ok = verify(cred.pub, login_hash(nonce, self.meter_eui, cred.hht_id), answer[CRED_LEN:])
        except Reject:
            raise Reject(reasons.LOGIN_KEY, AUTH_FAILED, "HHT public key invalid")
        if not ok:
            raise Reject(reasons.LOGIN_SIG, AUTH_FAILED, "login signature")
        return cred
