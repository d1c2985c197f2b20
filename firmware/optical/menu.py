"""Engineering menu on the meter's keypad and display (seed approach 4; docs/optical-port.md
"Engineering menu"; lockout practice shared/reference/optical.md §1.6-§1.7; UI events 0x8161 /
0x8162, failed authentication 0x8F53, gbcs.md §8).

PIN login with the persisted exponential lockout of firmware.optical.auth.LoginLockout (record
"menu_lock": 3 wrong PINs -> 60 s, doubling to 64 min, survives reboot). The PIN is stored only as
HMAC-SHA-256(salt, PIN) in record "menu_pin" (provisioned at manufacture; no record = menu
disabled). Non-critical functions only:

    1 display test   2 identity   3 security logs (# older, * back: the menu's, the optical port's,
    then the GBCS security log)   4 UTRN / configuration code
    0 exit

Critical functions (supply, payment mode, keys, tariffs, counters, clearing logs) are not offered:
there is no code path from this module to them. Keys: '0'-'9', '#' enter, '*' back / clear.
Once opened the menu keeps the keypad (state != OUT) while its PIN prompt (also after a wrong PIN)
or its lock (LOCKED) is shown: '*' on the bare prompt or on the lock, '0' in the main menu or the
60 s idle logout give it back.
Driven by key(ch) (HAL keypad) or feed(text) (console on the virtual board); never blocks.
"""
import binascii

from firmware.alerts import Reject, AUTH_OTHER, UI_COMMAND_OK, UI_COMMAND_FAILED
from firmware.compat import const, ticks_diff
from firmware.core import seclog
from firmware.crypto import ct
from firmware.crypto.hmac import hmac_sha256
from firmware.optical import reasons
from firmware.optical.auth import LoginLockout

_PIN_REC = "menu_pin"
MAX_PIN = const(8)
MIN_PIN = const(4)
MAX_CODE = const(20)
IDLE_MS = const(60000)

OUT = const(0)  # logged out, waiting for a key
PIN = const(1)
MAIN = const(2)
LOG = const(3)
CODE = const(4)
LOCKED = const(5)  # showing the lock: keys stay with the menu until '*', idle logout or unlock

MAIN_TEXT = "1TEST 2ID 3LOG 4CODE 0EXIT"
LOG_ADDRESSES = ("C.LOG.M", "C.LOG.O", "C.LOG.S")  # restricted-view addresses function 3 walks


def set_pin(store, pin, salt):
    """Provision the menu PIN (manufacture / host flash image); salt: 16 random bytes."""
    if not isinstance(pin, str) or not pin.isdigit() or not MIN_PIN <= len(pin) <= MAX_PIN:
        raise Reject(reasons.FORMAT, None, "PIN must be %d-%d digits" % (MIN_PIN, MAX_PIN))
    store.put_json(_PIN_REC, {"salt": binascii.hexlify(salt).decode(),
                              "h": binascii.hexlify(hmac_sha256(salt, pin.encode())).decode()})


class Menu:
    def __init__(self, store, display, clock, view, code_entry=None, lock=None):
        """display(text); view: firmware.optical.restricted.MeterView; code_entry(digits) ->
        result text, raising Reject when the code is refused (the UTRN acceptance function)."""
        self.store = store
        self.display = display
        self.clock = clock
        self.view = view
        self.code_entry = code_entry
        self.lock = lock if lock is not None else LoginLockout(store, "menu_lock", clock)
        self.log = seclog.menu(store)
        self.state = OUT
        self._buf = ""
        self._prompt = False
        self._log_i = 0
        self._last = clock.ticks_ms()
        self._lock_logged = False

    def audit(self, code, text):
        self.log.append("%04X menu %s" % (code, text))

    def feed(self, text):
        for ch in text:
            self.key(ch)

    def poll(self, stream=None, keypad=None):
        """Read keys from a stream (console) or a HAL keypad (key() -> str or None) if given, and
        apply the idle logout."""
        if keypad is not None:
            for _ in range(32):
                k = keypad.key()
                if k is None:
                    break
                self.key(k)
        if stream is not None:
            n = stream.any()
            if n:
                data = stream.read(n)
                for b in data or b"":
                    self.key(chr(b & 0x7F))
        if self.state != OUT and ticks_diff(self.clock.ticks_ms(), self._last) > IDLE_MS:
            self._logout("timeout")

    def _logout(self, why):
        if self.state in (MAIN, LOG, CODE):
            self.audit(UI_COMMAND_OK, "logout %s" % why)
        self.state = OUT
        self._buf = ""
        self.display("")

    def key(self, ch):
        if ch in "\r\n":
            ch = "#"
        if ch not in "0123456789#*":
            return  # other console characters are ignored
        now = self.clock.ticks_ms()
        if self.state != OUT and ticks_diff(now, self._last) > IDLE_MS:
            self._logout("timeout")
        self._last = now
        st = self.state
        if st == LOCKED and ch == "*":
            self._logout("back")
            return
        if st == OUT or st == LOCKED:
            left = self.lock.remaining()
            if left:
                if not self._lock_logged:
                    self._lock_logged = True
                    self.audit(AUTH_OTHER, "use while locked (%d s left)" % left)
                self.state = LOCKED
                self.display("LOCKED %d S" % left)
                return
            self._lock_logged = False
            self.state = OUT
            if self.store.get_json(_PIN_REC, None) is None:
                self.display("MENU DISABLED")
                return
            self.state = PIN
            self._buf = ""
            self._prompt = True
            self.display("PIN?")
            if ch in "0123456789":
                self.key(ch)
            return
        if st == PIN:
            self._pin_key(ch)
        elif st == MAIN:
            self._main_key(ch)
        elif st == LOG:
            self._log_key(ch)
        elif st == CODE:
            self._code_key(ch)

    def _pin_key(self, ch):
        if ch == "*":
            if not self._buf and self._prompt:
                self._logout("back")  # '*' on the bare prompt leaves the menu
                return
            self._buf = ""
            self._prompt = True
            self.display("PIN?")
            return
        self._prompt = False
        if ch != "#":
            if len(self._buf) < MAX_PIN:
                self._buf += ch
            self.display("PIN " + "*" * len(self._buf))
            return
        entered = self._buf
        self._buf = ""
        rec = self.store.get_json(_PIN_REC, None)
        ok = False
        if rec is not None and len(entered) >= MIN_PIN:
            salt = binascii.unhexlify(rec["salt"])
            ok = ct.equal(hmac_sha256(salt, entered.encode()), binascii.unhexlify(rec["h"]))
        if not ok:
            length = self.lock.fail()
            self.audit(AUTH_OTHER, "PIN wrong, failure %d" % self.lock.streak() +
                       (" (locked %d s)" % length if length else ""))
            # the keypad stays with the menu (PIN prompt again, or the lock shown): what the
            # engineer types next never reaches consumer code entry
            self.state = LOCKED if length else PIN
            self.display("LOCKED %d S" % length if length else "WRONG PIN")
            return
        self.lock.success()
        self.audit(UI_COMMAND_OK, "login")
        self.state = MAIN
        self.display(MAIN_TEXT)

    def _main_key(self, ch):
        if ch == "1":
            self.display("88888888 DISPLAY TEST")
            self.audit(UI_COMMAND_OK, "display test")
        elif ch == "2":
            eui, _ = self.view.read("C.1.0", "")
            fw, _ = self.view.read("0.2.0", "")
            self.display("ID %s %s" % (eui, fw))
        elif ch == "3":
            self.state = LOG
            self._log_i = 0
            self._show_log()
        elif ch == "4":
            self.state = CODE
            self._buf = ""
            self.display("CODE?")
        elif ch == "0":
            self._logout("exit")
        else:
            self.display(MAIN_TEXT)

    def _show_log(self):
        """Entry _log_i of the security logs walked newest first: this menu's, the optical
        port's, then the GBCS security log (entries name their source)."""
        try:
            i = self._log_i
            total = 0
            for addr in LOG_ADDRESSES:
                n = int(self.view.read(addr, "")[0])
                if i < n:
                    e, _ = self.view.read(addr, str(i))
                    self.display("%d %s" % (self._log_i, e))
                    return
                i -= n
                total += n
            self.display("LOG EMPTY" if total == 0 else "LOG END")
        except Reject:
            self.display("LOG END")

    def _log_key(self, ch):
        if ch == "#":
            self._log_i += 1
            self._show_log()
        elif ch == "*":
            self.state = MAIN
            self.display(MAIN_TEXT)

    def _code_key(self, ch):
        if ch == "*":
            if self._buf:
                self._buf = ""
                self.display("CODE?")
            else:
                self.state = MAIN
                self.display(MAIN_TEXT)
            return
        if ch != "#":
            if len(self._buf) < MAX_CODE:
                self._buf += ch
            self.display("CODE " + self._buf)
            return
        code = self._buf
        self._buf = ""
        if self.code_entry is None:
            self.display("CODE ENTRY N/A")
            return
        try:
            res = self.code_entry(code)
        except Reject as e:
            self.audit(UI_COMMAND_FAILED, "code refused: %s" % e.reason)
            self.display("REJECTED %s" % e.reason)
            return
        self.audit(UI_COMMAND_OK, "code accepted")
        self.display("ACCEPTED %s" % (res if res else ""))
