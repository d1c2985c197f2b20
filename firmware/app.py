"""The device application: what `main.py` runs on a board (ESP32 or virtual).

Wires the layers together for the role in the store (ESME today; GSME and the Comms Hub add their
own branch here): board HAL -> durable store -> security state + GBCS pipeline (firmware.meter.esme)
-> UTRN acceptor shared by the keypad and CS01a (firmware.utrn) -> optical port with HHT login,
restricted commands and pass-through (firmware.optical) -> engineering menu. Then polls forever.

Keypad routing: digits, '*', '#' and 'A' (supply button) go to consumer UTRN entry; the 'D' key
(the engineer's key, behind the terminal cover on a real meter) opens the engineering menu's PIN
prompt, and while the menu is open every key goes to it. An unprovisioned board shows
"NOT PROVISIONED" and answers nothing but the REPL (mpremote provisions it).
"""
from firmware.alerts import Reject

MENU_KEY = "D"
VK_DIR = "/vk"  # comb tables of trust-anchor DS keys (built at provisioning, rebuilt on use if damaged)


def ensure_dir(p):
    """Create directory p unless it exists; True when it was created."""
    import os

    try:
        os.mkdir(p)
    except OSError:  # EEXIST (any other failure shows when the directory is used)
        return False
    return True


class App:
    def __init__(self, board, vk_dir=VK_DIR):
        from firmware import gcpolicy

        gcpolicy.apply()
        from firmware.meter.esme import Esme
        from firmware.optical.service import OpticalService
        from firmware.utrn import cs01a
        from firmware.utrn.keypad import KeypadEntry

        self.board = board
        self.store = board.store()
        self.esme = None
        self.role = (self.store.get_json("role", None) or {}).get("role", "esme")
        try:
            if vk_dir:
                vk_dir = board.storage_root().rstrip("/") + vk_dir
                ensure_dir(vk_dir)
            self.esme = Esme(self.store, table_dir=vk_dir or None)
        except Reject as e:
            if e.reason != "not-provisioned":
                raise
            board.display("NOT PROVISIONED")
            self.service = None
            return
        self.acceptor = cs01a.install(self.esme, clock=board.time)
        self.keypad = board.keypad()
        self.entry = KeypadEntry(self.acceptor, self.keypad, board.display, board.time)
        self.service = OpticalService(board, self.store, esme=self.esme, code_entry=self._menu_code,
                                      model=self.esme.model)
        board.display("READY %s" % self.role.upper())

    def _menu_code(self, digits):
        # the menu's code entry is the same acceptance function as the consumer keypad; a
        # refusal raises Reject, which the menu audits and shows
        from firmware.utrn.ledger import fmt

        r = self.acceptor.accept(digits, source="keypad", now=self.board.time())
        if r["kind"] == "credit":
            return "ACCEPTED +%s BALANCE %s" % (fmt(r["amount"]), fmt(r["balance"]))
        return "ACCEPTED %s (%s)" % (r["op"].upper(), r["result"])

    def key(self, k):
        menu = self.service.menu
        if menu.state != 0 or k == MENU_KEY:  # 0 = menu logged out
            menu.key("#" if k == MENU_KEY else k)
            return
        msg = self.entry.key(k)
        if msg:
            self.board.display(msg)

    def poll(self):
        """One pass over every input; never blocks."""
        if self.service is None:
            return
        self.service.port.poll()
        for _ in range(32):
            k = self.keypad.key()
            if k is None:
                break
            self.key(k)
        self.service.menu.poll()  # idle logout


def main():
    import time

    import board

    app = App(board.get())
    sleep_ms = getattr(time, "sleep_ms", None)
    while True:
        app.poll()
        if sleep_ms:
            sleep_ms(2)
        else:
            time.sleep(0.002)
