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
    import board

    b = board.get()
    # A failure while booting (e.g. a heap too small for the application) stays at the REPL with
    # its traceback: resetting would only fail the same way again, forever.
    serve(b, App(b))


def serve(board, app, polls=-1):
    """Poll `app` forever (or `polls` times). An exception escaping a poll - MemoryError when the
    heap is exhausted or fragmented, or a firmware bug - is recorded and the board reset, as a
    watchdog would: a reset is a power cut, after which the store holds every command either fully
    applied or never seen (docs/storage.md), and the meter goes back to serving. Left at the REPL
    it would answer nothing until someone power-cycled it. KeyboardInterrupt (mpremote taking the
    REPL) is not an Exception and still stops the loop."""
    import time

    sleep_ms = getattr(time, "sleep_ms", None)
    while polls:
        try:
            app.poll()
        except Exception as e:  # noqa: BLE001 - every fault ends in a reset, none is ignored
            store = app.store
            app = None  # drop our reference so the log line below has heap to work with
            fault(board, store, e)
            return  # reached only where reset() returns (a detached board in tests)
        if sleep_ms:
            sleep_ms(2)
        else:
            time.sleep(0.002)
        polls -= 1


def fault(board, store, e):
    """Record an unexpected exception (console + the store's `event` log), then reset the board."""
    import gc
    import sys

    gc.collect()
    msg = "reset after %s: %s" % (type(e).__name__, e)
    print(msg)
    pe = getattr(sys, "print_exception", None)  # MicroPython; CPython hosts print the line only
    if pe:
        pe(e)
    try:
        store.log("event").append(msg[:120])
    except (MemoryError, OSError) as e2:  # the reset still happens; the console has the reason
        print("event log not written: %r" % (e2,))
    board.reset()
