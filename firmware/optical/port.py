"""Optical port: IEC 62056-21 mode C session state machine with login, restricted HHT commands,
pass-through of signed GBCS commands, timeouts, rate limit and audit (docs/optical-port.md).

Spec reference: IEC 62056-21 §6.3 mode C, §6.4 timing (shared/reference/optical.md §1.2, §1.5,
§1.7); GBCS events 0x81A5 / 0x8F3D / 0x8F3E / 0x8F30 / 0x8F53 / 0x8F60 (optical.md §3).

    IDLE --/?!--> IDENT --ACK 0 Z 0--> readout sent --> IDLE
                        --ACK 0 Z 1--> CHALLENGE (P0 nonce sent) --P2 ok--> AUTH (R1/E2, B0)
                                                                 --P2 bad--> error, IDLE
    any state --B0 / 120 s silence--> IDLE (300 Bd)
    any state --/?!--> IDENT (a sign-on request restarts the session, whatever was half-received)

The port is driven by poll() from the board's main loop; it never blocks. `stream` is any object
with read(n), write(b), any() (a machine.UART, the virtual board's pty, or an in-memory stream in
the unit tests) and optionally set_baud(rate); each poll reads everything waiting (any() may only
say that something is). `clock` has ticks_ms() and time(). The port audits to its own security
log (firmware.core.seclog "optlog"), apart from the GBCS security log its pass-through feeds.
"""
import binascii

from firmware.alerts import (Reject, LOCAL_PORT_COMMUNICATION, UNAUTHORISED_ACCESS, AUTH_OTHER,
                             NO_AUTHORITY, UNUSUAL_COMMANDS)
from firmware.compat import const, ticks_diff
from firmware.core import seclog
from firmware.optical import iec, reasons
from firmware.optical.auth import LoginLockout, NONCE_LEN, PERM_READ, PERM_PASS

IDLE = const(0)
IDENT = const(1)
CHALLENGE = const(2)
AUTH = const(3)
STATE_NAMES = ("idle", "ident", "challenge", "auth")

INACTIVITY_MS = const(120000)  # optical.md §1.5: 60-120 s, then back to the start state
IDENT_MS = const(5000)  # identification sent, no option select: back to the start state
REACTION_MS = const(20)  # tr minimum with a lower-case third manufacturer letter
MANUFACTURER = "SMl"
BAUD_CHAR = "5"  # 9600 Bd offered
RATE_BURST = const(10)  # token bucket for programming-mode commands
RATE_PER_S = const(2)
MAX_GBCS_BYTES = const(4096)  # a pass-through command (bytes, over EOT partial blocks); the largest
# GBCS command an ESME takes in RTDS is the 3,986-byte signature-only CS02b recovery command
QUIET_MS = const(60000)  # unauthenticated audit events: at most one entry per minute
_MALFORMED_ALERT = const(5)
_RX_CHUNK = const(256)  # bytes read per poll at least (a burst is drained in a few polls)  # malformed frames per session that raise 0x8F60

# error texts (docs/optical-port.md "Error replies")
ER_SYNTAX = "ER01"  # unknown command / malformed data
ER_REFUSED = "ER02"  # not in the HHT interface specification
ER_NOT_LOGGED_IN = "ER03"
ER_LOGIN = "ER04"
ER_LOCKED = "ER05"
ER_RATE = "ER06"
ER_TOO_LONG = "ER07"
ER_P1 = "ER09"  # plain password: not supported, unlocks nothing
ER_RANGE = "ER10"


class OpticalPort:
    def __init__(self, stream, store, clock, meter_eui, view, authenticator, passthrough=None,
                 ident="SMLAB-ESME", rng=None, lock=None):
        self.stream = stream
        self.store = store
        self.clock = clock
        self.meter_eui = bytes(meter_eui)
        self.view = view
        self.auth = authenticator
        self.passthrough = passthrough
        self.ident = ident
        self.rng = rng
        self.lock = lock if lock is not None else LoginLockout(store, "optical_lock", clock)
        self.log = seclog.optical(store)
        self.rx = iec.Receiver()
        self.state = IDLE
        self._out = b""
        self._out_at = 0
        self._last_sent = b""
        self._naks = 0
        self._after_send = None
        self._quiet_t = None
        self._quiet_n = 0
        self._tokens = RATE_BURST
        self._tok_t = clock.ticks_ms()
        self._session_reset()
        self._last_rx = clock.ticks_ms()

    # -- bookkeeping ------------------------------------------------------------------------
    def _session_reset(self):
        self._nonce = None
        self._cred = None
        self._logged = []
        self._cmds = 0
        self._refused = 0
        self._malformed = 0
        self._gbcs = None
        self._mode = ""

    def audit(self, code, text):
        """Append one entry `CODE optical text` to the optical port's security log (its own log:
        nothing done on this port can evict GBCS security events)."""
        self.log.append("%04X optical %s" % (code, text))

    def _audit_once(self, code, text, now):
        """Once per session and code; before a login also subject to the per-minute quiet."""
        if code not in self._logged:
            self._logged.append(code)
            if self._cred is None:
                self._audit_quiet(code, text, now)
            else:
                self.audit(code, text)

    def _send(self, b, now):
        self._out += b
        self._out_at = now
        self._last_sent = b
        self._naks = 0

    def _set_baud(self, rate):
        f = getattr(self.stream, "set_baud", None)
        if f is not None:
            f(rate)

    def _audit_quiet(self, code, text, now):
        """Audit an event anyone can cause without credentials (sign-on, readout, session without
        login, sign-on while locked) at most once per QUIET_MS, counting the rest, so nobody can
        flush the bounded security log by signing on in a loop."""
        if self._quiet_t is not None and ticks_diff(now, self._quiet_t) < QUIET_MS:
            self._quiet_n += 1
            return
        if self._quiet_n:
            text += " (+%d unlogged)" % self._quiet_n
        self._quiet_t = now
        self._quiet_n = 0
        self.audit(code, text)

    def _end(self, reason, now):
        if self.state != IDLE:
            if self._malformed >= _MALFORMED_ALERT:
                self._audit_quiet(UNUSUAL_COMMANDS, "%d malformed frames" % self._malformed, now)
            text = "end %s cmds=%d refused=%d" % (reason, self._cmds, self._refused)
            if self._cred is not None:
                self.audit(LOCAL_PORT_COMMUNICATION, text)
            else:
                self._audit_quiet(LOCAL_PORT_COMMUNICATION, "session " + text, now)
        self.state = IDLE
        self._session_reset()
        self.rx.reset()
        self._after_send = 300

    # -- main loop --------------------------------------------------------------------------
    def poll(self):
        now = self.clock.ticks_ms()
        n = self.stream.any()
        if n:
            # everything waiting, in one read: any() may only say "something" (a pty says 1)
            data = self.stream.read(n if n > _RX_CHUNK else _RX_CHUNK)
            if data:
                for b in data:
                    self._last_rx = now
                    ev = self.rx.feed(b, now)
                    if ev is not None:
                        self._event(ev, now)
        self.rx.gap_expired(now)
        if self.state != IDLE:
            quiet = ticks_diff(now, self._last_rx)
            if quiet > INACTIVITY_MS or (self.state == IDENT and quiet > IDENT_MS):
                self._end("timeout", now)
        self._flush(now)

    def _flush(self, now):
        if self._out and ticks_diff(now, self._out_at) >= REACTION_MS:
            self.stream.write(self._out)
            self._out = b""
            if self._after_send is not None:
                f = getattr(self.stream, "flush", None)
                if f is not None:
                    f()
                self._set_baud(self._after_send)
                self._after_send = None
        elif not self._out and self._after_send is not None:
            self._set_baud(self._after_send)
            self._after_send = None

    def pending(self):
        return bool(self._out)

    # -- events -----------------------------------------------------------------------------
    def _event(self, ev, now):
        kind = ev[0]
        st = self.state
        if kind == iec.EV_REQUEST:
            self._request(ev[1], now)
            return
        if st == IDLE:
            return  # anything but a sign-on request is ignored in the start state
        if kind == iec.EV_NAK:
            if self._last_sent and self._naks < 3:
                self._out += self._last_sent
                self._out_at = now
                self._naks += 1
            return
        if kind == iec.EV_BADBCC or kind == iec.EV_MALFORMED:
            self._malformed += 1
            if st == IDENT:
                self._end("malformed", now)  # a broken option select: silent return to start
            elif kind == iec.EV_BADBCC:
                self._send(bytes((iec.NAK,)), now)
            else:
                self._send(iec.error_message(ER_TOO_LONG if ev[1] in iec.TOO_LONG else ER_SYNTAX), now)
            return
        if kind == iec.EV_OPTION:
            if st == IDENT:
                self._option(ev[1], ev[2], ev[3], now)
            else:
                self._malformed += 1
            return
        if kind == iec.EV_DATA:
            self._malformed += 1
            self._send(iec.error_message(ER_SYNTAX), now)
            return
        # a programming command
        cmd, data, partial = ev[1], ev[2], ev[3]
        if st == IDENT:
            self._malformed += 1
            return
        if cmd == "B0":
            self._end("B0", now)
            return
        if st == CHALLENGE:
            self._challenge_cmd(cmd, data, partial, now)
        else:
            self._auth_cmd(cmd, data, partial, now)

    def _request(self, address, now):
        if address and address != binascii.hexlify(self.meter_eui).decode().upper():
            return  # addressed to another device: silence
        if self.state != IDLE:
            self._end("new sign-on", now)
            self._after_send = None
        self.state = IDENT
        self._send(iec.identification(MANUFACTURER, BAUD_CHAR, self.ident), now)

    def _option(self, v, z, y, now):
        if v != "0" or z > BAUD_CHAR or y not in "01":
            self._end("option %s%s%s" % (v, z, y), now)
            return
        rate = iec.baud_rate(z)
        if y == "0":
            self._mode = "readout"
            self._audit_quiet(LOCAL_PORT_COMMUNICATION, "readout", now)
            self._set_baud(rate)
            self._send(iec.readout(self.view.readout_lines()), now)
            self.state = IDLE
            self._session_reset()
            self._after_send = 300
            return
        self._mode = "prog"
        left = self.lock.remaining()
        if left:
            self._audit_quiet(UNAUTHORISED_ACCESS, "sign-on while locked (%d s left)" % left, now)
            self._set_baud(rate)
            self._send(iec.error_message("%s %d" % (ER_LOCKED, left)), now)
            self.state = IDLE
            self._session_reset()
            self._after_send = 300
            return
        self._set_baud(rate)
        self._nonce = self._random(NONCE_LEN)
        self.state = CHALLENGE
        self._send(iec.command("P0", "(" + binascii.hexlify(self._nonce).decode().upper() + ")"),
                   now)

    def _random(self, n):
        if self.rng is not None:
            return self.rng(n)
        import os

        return os.urandom(n)

    @staticmethod
    def _value(data):
        """The value of a `(value)` or `address(value)` data field -> (address, value)."""
        if data is None:
            raise Reject(reasons.FORMAT, None, "no data")
        i = data.find(b"(")
        if i < 0 or not data.endswith(b")") or data.count(b"(") != 1 or data.count(b")") != 1:
            raise Reject(reasons.FORMAT, None, "brackets")
        addr = data[:i]
        for c in addr:
            if c < 0x21 or c > 0x7E or len(addr) > iec.MAX_DS_ADDRESS:
                raise Reject(reasons.FORMAT, None, "address")
        return addr.decode(), data[i + 1:-1].decode()

    def _challenge_cmd(self, cmd, data, partial, now):
        if cmd == "P2" and not partial:
            try:
                addr, val = self._value(data)
                if addr:
                    raise Reject(reasons.FORMAT, AUTH_OTHER, "P2 with an address")
                try:
                    answer = binascii.unhexlify(val)
                except ValueError:
                    raise Reject(reasons.LOGIN_FORMAT, AUTH_OTHER, "P2 answer is not hex")
                nonce = self._nonce
                self._nonce = None  # one answer per nonce
                if nonce is None:
                    raise Reject(reasons.LOGIN_NONCE, AUTH_OTHER, "no challenge outstanding")
                cred = self.auth.check(nonce, answer)
            except Reject as e:
                length = self.lock.fail()
                self.audit(e.code or AUTH_OTHER, "login failed: %s, failure %d" %
                           (e.reason, self.lock.streak()) +
                           (" (locked %d s)" % length if length else ""))
                self._send(iec.error_message(ER_LOCKED if length else ER_LOGIN), now)
                self._end("login failed", now)
                return
            self.lock.success()
            self._cred = cred
            self.state = AUTH
            self.audit(LOCAL_PORT_COMMUNICATION, "login hht=%s perms=%d" %
                       (binascii.hexlify(cred.hht_id).decode().upper(), cred.perms))
            self._send(bytes((iec.ACK,)), now)
            return
        if cmd == "P1":
            self._refused += 1
            self._audit_once(AUTH_OTHER, "P1 password refused (challenge-response only)", now)
            self._send(iec.error_message(ER_P1), now)
            return
        if cmd in ("R1", "W1", "E2") or cmd[0] in "RWE":
            self._refused += 1
            self._audit_once(UNAUTHORISED_ACCESS, "%s before login" % cmd, now)
            self._send(iec.error_message(ER_NOT_LOGGED_IN), now)
            return
        self._malformed += 1
        self._send(iec.error_message(ER_SYNTAX), now)

    def _rate_ok(self, now):
        el = ticks_diff(now, self._tok_t)
        if el < 0:
            self._tok_t = now
            el = 0
        add = el * RATE_PER_S // 1000
        if add:
            self._tokens += add
            self._tok_t = (self._tok_t + add * 1000 // RATE_PER_S) & 0x3FFFFFFF
        if self._tokens >= RATE_BURST:
            self._tokens = RATE_BURST
            self._tok_t = now
        if self._tokens <= 0:
            return False
        self._tokens -= 1
        return True

    def _auth_cmd(self, cmd, data, partial, now):
        if not self._rate_ok(now):
            self._refused += 1
            self._audit_once(UNUSUAL_COMMANDS, "rate limit", now)
            self._send(iec.error_message(ER_RATE), now)
            return
        self._cmds += 1
        try:
            addr, val = self._value(data)
        except Reject:
            self._malformed += 1
            self._send(iec.error_message(ER_SYNTAX), now)
            return
        if cmd == "E2" and addr == "GBCS":
            self._gbcs_block(val, partial, now)
            return
        if partial:
            self._malformed += 1
            self._send(iec.error_message(ER_SYNTAX), now)
            return
        try:
            if not self._cred.perms & PERM_READ:
                raise Reject(reasons.REFUSED, NO_AUTHORITY, "credential without restricted-HHT reads")
            if cmd == "R1":
                value, unit = self.view.read(addr, val)
                self._send(iec.data_message(iec.data_set("", value, unit, iec.MAX_DS_VALUE)), now)
                return
            if cmd == "E2":
                value = self.view.execute(addr, val)
                self._send(iec.data_message(iec.data_set("", value, None)), now)
                return
            raise Reject(reasons.REFUSED, NO_AUTHORITY, "%s %s not in the HHT interface specification"
                         % (cmd, addr))
        except Reject as e:
            if e.reason == reasons.RANGE:
                self._send(iec.error_message(ER_RANGE), now)
                return
            self._refused += 1
            self.audit(e.code or NO_AUTHORITY, "refused %s %s" % (cmd, e.detail[:48]))
            self._send(iec.error_message(ER_REFUSED), now)

    def _gbcs_block(self, val, partial, now):
        try:
            chunk = binascii.unhexlify(val)  # every block holds whole bytes (even hex length)
        except ValueError:
            self._gbcs = None
            self._malformed += 1
            self._send(iec.error_message(ER_SYNTAX), now)
            return
        # the blocks are kept as a list and joined once at the end: growing one buffer block by
        # block would leave a trail of ever larger freed copies on a small fragmented heap
        parts = self._gbcs if self._gbcs is not None else []
        size = len(chunk)
        for p in parts:
            size += len(p)
        if size > MAX_GBCS_BYTES:
            self._gbcs = None
            self._malformed += 1
            self._send(iec.error_message(ER_TOO_LONG), now)
            return
        parts.append(chunk)
        if partial:
            self._gbcs = parts
            self._send(bytes((iec.ACK,)), now)
            return
        self._gbcs = None
        if self.passthrough is None or not self._cred.perms & PERM_PASS:
            self._refused += 1
            self.audit(NO_AUTHORITY, "pass-through not permitted")
            self._send(iec.error_message(ER_REFUSED), now)
            return
        msg = parts[0] if len(parts) == 1 else b"".join(parts)
        parts = None
        try:
            resp = self.passthrough(msg)
        except Reject as e:  # already security-logged by the GBCS pipeline
            self._refused += 1
            self._send(iec.error_message("ER%04X" % (e.code or AUTH_OTHER)), now)
            return
        self._send(iec.data_message("(" + binascii.hexlify(resp).decode().upper() + ")"), now)
