"""Keypad / console entry of UTRNs and configuration codes (manual entry path; shared/reference/gbcs.md
§9.4 reconstruction, §9.6 lockout; docs/utrn.md). Reads keys from the board HAL keypad (board/hal.py:
'0'-'9', '*', '#', 'A'-'D', '\\n'), feeds complete codes to the one acceptance function with source
KEYPAD and shows the outcome on the display.

Keys: digits build the code (at most 20); '*' deletes the last digit; '#' or newline enters it;
'A' is the supply button (armed -> connected, the consumer's action after Enable Supply); 'B'
accepts the emergency credit the meter offers (firmware/meter/engine.py); others are ignored.
"""
from firmware.alerts import Reject, UTRN_LOCKED_OUT, UTRN_ENTRY_SUSPENDED
from firmware.utrn.accept import KEYPAD
from firmware.utrn.ledger import fmt


class KeypadEntry:
    def __init__(self, acceptor, keypad, display, clock, accept=None):
        """accept(code, now) -> the acceptor's result: the role's own entry path when it keeps more
        than the acceptor does (the GSME's top-up log, firmware/gas/life.py keypad_accept); default
        the acceptor itself with source KEYPAD."""
        self.acceptor = acceptor
        self.keypad = keypad
        self.display = display
        self.clock = clock
        self.accept = accept or self._accept
        self.digits = ""

    def _accept(self, code, now):
        return self.acceptor.accept(code, source=KEYPAD, now=now)

    def poll(self):
        """Handle every waiting key; returns the list of messages displayed."""
        shown = []
        while self.keypad.any():
            k = self.keypad.key()
            if k is None:
                break
            msg = self.key(k)
            if msg:
                self.display(msg)
                shown.append(msg)
        return shown

    def key(self, k):
        """One key press -> message to display (or None)."""
        if "0" <= k <= "9":
            if len(self.digits) < 20:
                self.digits += k
            return None
        if k == "*":
            self.digits = self.digits[:-1]
            return None
        if k == "A":
            m = self.acceptor.meter
            if m is not None and m.button_press():
                return "SUPPLY ON"
            return None
        if k == "B":
            e = getattr(self.acceptor.meter, "engine", None)
            return e.take_emergency_credit(self.clock()) if e is not None else None
        if k in ("#", "\n", "\r"):
            code = self.digits
            self.digits = ""
            if not code:
                return None
            return self.enter(code)
        return None

    def enter(self, code):
        try:
            r = self.accept(code, self.clock())
        except Reject as e:
            if e.code == UTRN_LOCKED_OUT:
                return "LOCKED OUT"
            if UTRN_ENTRY_SUSPENDED in getattr(e, "events", ()):
                return "REJECTED %04X - ENTRY SUSPENDED" % (e.code or 0)
            return "REJECTED %04X %s" % (e.code or 0, e.reason.upper())
        if r["kind"] == "credit":
            return "ACCEPTED +%s BALANCE %s" % (fmt(r["amount"]), fmt(r["balance"]))
        if r["op"] == "enable_supply" and r["result"] == "armed":
            return "SUPPLY ARMED - PRESS A"
        return "ACCEPTED %s (%s)" % (r["op"].upper(), r["result"])

