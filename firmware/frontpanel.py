"""The meter's front panel: keypad, display, engineering menu and optical port of one device role,
wired the one way boards and tests both use.

* Optical port (IEC 62056-21 §6.3 mode C, firmware.optical.port): identification `role.ident`,
  HHT login trusting `role.hht_anchor` (the supplier's DS anchor, GBCS §5.2 trust anchors),
  pass-through of GBCS commands to `role.process`, restricted HHT view and readout over
  `role.model` (firmware.optical.restricted).
* Consumer keypad entry of UTRNs and configuration codes (GBCS §9.4 manual entry,
  firmware.utrn.keypad) on `role.acceptor`, through `role.keypad_accept(code, now)` when the role
  keeps more than the acceptor (the GSME's top-up log); 'A' is the supply button.
* Engineering menu (firmware.optical.menu) with code entry on the same acceptor.

Keypad routing: the MENU_KEY ('D', behind the terminal cover on a real meter) opens the menu's PIN
prompt; while the menu holds the keypad (PIN prompt, the lock shown, logged in) every key goes to
it, so nothing an engineer types reaches consumer code entry or counts towards the consumer's
manual-entry lockout (GBCS §9.6). Otherwise digits, '*', '#' and 'A' go to consumer entry.

    panel = FrontPanel(board, role)
    while True:
        panel.poll()
"""
from firmware.optical.menu import OUT

MENU_KEY = "D"
_KEYS_PER_POLL = 32


def code_text(r):
    """Display text of an accepted code (firmware.utrn.accept result): 'CREDIT 10.00' or
    'CONFIG <op>'."""
    if r.get("kind") == "credit":
        a = r["amount"]
        return "CREDIT %d.%02d" % (a // 100, a % 100)
    return "CONFIG %s" % r.get("op", "")


class FrontPanel:
    def __init__(self, board, role, registers=None):
        """board: the HAL (board/hal.py); role: the device role object (firmware.roles);
        registers: callable -> [(address, value, unit)] of the metrology for the readout (default:
        the role's own `registers`, the ESME's metering engine)."""
        from firmware.optical.auth import Authenticator
        from firmware.optical.menu import Menu
        from firmware.optical.port import OpticalPort
        from firmware.optical.restricted import MeterView

        self.board = board
        self.role = role
        store = role.store
        eui = role.eui
        if registers is None:
            registers = getattr(role, "registers", None)
        self.view = MeterView(store, eui, board, role.model, registers, board.display)
        self.port = OpticalPort(board.uart("optical"), store, board, eui, self.view,
                         Authenticator(role.hht_anchor, eui, board), role.process, ident=role.ident)
        acc = role.acceptor
        self.menu = Menu(store, board.display, board, self.view,
                         self.menu_code if acc is not None else None)
        self.keypad = board.keypad()
        self.entry = None
        if acc is not None:
            from firmware.utrn.keypad import KeypadEntry

            self.entry = KeypadEntry(acc, self.keypad, board.display, board.time,
                                     getattr(role, "keypad_accept", None))

    def menu_code(self, digits):
        """The menu's code entry: the consumer keypad's acceptance function (source KEYPAD, the
        role's own `keypad_accept` when it has one); a refusal raises Reject, which the menu audits
        and shows."""
        return code_text(self.entry.accept(digits, self.board.time()))

    def key(self, k):
        """One key press from the keypad, routed to the menu or to consumer entry."""
        menu = self.menu
        if menu.state != OUT or k == MENU_KEY:
            menu.key("#" if k == MENU_KEY else k)
            return
        if self.entry is not None:
            msg = self.entry.key(k)
            if msg:
                self.board.display(msg)

    def poll(self):
        """One pass over the optical port and the keypad, then the menu's idle logout; never
        blocks."""
        port = self.port
        busy = port.stream.any() or port.pending()
        port.poll()
        kp = self.keypad
        for _ in range(_KEYS_PER_POLL):
            k = kp.key()
            if k is None:
                break
            self.key(k)
        self.menu.poll()
        if busy:  # a login verify leaves much garbage: collect before the next flash write
            import gc

            gc.collect()
