"""Wiring of the optical port and the engineering menu on a board (board HAL, docs/optical-port.md
"On a board"): the HHT login trusts the supplier DS cell of the ESME's trust anchors
(firmware.meter.security, shared/reference/gbcs.md §5.2), pass-through commands go to
Esme.process (the WAN pipeline), code entry to the UTRN acceptance function.

    svc = OpticalService(board, store, esme=esme, code_entry=acceptor_fn)
    while True:
        svc.poll()
"""
from firmware.alerts import Reject


def supplier_anchors(store, sec=None):
    """anchors(issuer_eui8) -> that party's DS key, for firmware.crypto.verifykey.verify, when it
    is the supplier in this meter's trust anchor cells, else None (unprovisioned meter: nobody
    can log in). With `sec` (the ESME's live SecurityState) the key is its cached VerifyKey over
    the supplier's comb table, as the WAN pipeline verifies with; without it the cells are read
    from the store at each login and the key is SEC1 bytes."""

    def anchors(issuer):
        from firmware.meter import security

        s = sec
        if s is None:
            try:
                s = security.SecurityState(store)
            except Reject:
                return None
        if s.party_role(issuer) != security.SUPPLIER:
            return None
        c = s.party_cell(issuer, security.DS)
        return None if c is None else s.verify_key(c)

    return anchors


class OpticalService:
    def __init__(self, board, store, esme=None, code_entry=None, registers=None, model=None):
        from firmware.optical.auth import Authenticator
        from firmware.optical.menu import Menu
        from firmware.optical.port import Port
        from firmware.optical.restricted import MeterView

        self.board = board
        eui = board.eui64()
        if model is None and esme is not None:
            model = esme.model
        if model is None:
            from firmware.meter.model import MeterModel

            model = MeterModel(store)
        self.view = MeterView(store, eui, board, model, registers, board.display)
        self.port = Port(board.uart("optical"), store, board, eui, self.view,
                         Authenticator(supplier_anchors(store, esme and esme.sec), eui, board),
                         esme.process if esme is not None else None)
        self.menu = Menu(store, board.display, board, self.view, code_entry)
        self.keypad = board.keypad()

    def poll(self):
        busy = self.port.stream.any() or self.port.pending()
        self.port.poll()
        self.menu.poll(keypad=self.keypad)
        if busy:  # a login verify leaves much garbage: collect before the next flash write
            import gc

            gc.collect()


def utrn_code_entry(acceptor):
    """The menu's code entry for a firmware.utrn.accept.Acceptor: digits -> display text; the
    acceptor's Reject (logged by it) propagates to the menu."""

    def enter(code):
        from firmware.utrn.accept import KEYPAD

        r = acceptor.accept(code, KEYPAD)
        if r.get("kind") == "credit":
            a = r["amount"]
            return "CREDIT %d.%02d" % (a // 100, a % 100)
        return "CONFIG %s" % r.get("op", "")

    return enter
