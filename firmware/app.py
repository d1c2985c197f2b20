"""The device application: what `main.py` runs on a board (ESP32 or virtual).

Boot: board HAL -> durable store -> the device role named by the store's role record (GBCS §4.3.1
device types; firmware.roles builds it: trust state, GBCS command gate, its model and services) ->
the front panel of that role (firmware.frontpanel: optical port, keypad, display, engineering
menu). Then polls forever.

An unprovisioned board (no identity in the store) shows "NOT PROVISIONED" and answers nothing but
the REPL (mpremote provisions it). A provisioned board whose role record names no role this
firmware has, or names none, shows "UNKNOWN ROLE", has the refusal in its event log
(firmware.roles.build writes it) and raises Reject(UNKNOWN_ROLE): it stays at the REPL with the
reason rather than run as another role.
"""
from firmware.alerts import Reject

VK_DIR = "/vk"  # comb tables of trust-anchor DS keys (built at provisioning, rebuilt on use if damaged)
ROLE_REC = "role"  # {"role": name}, written by firmware.provisioning


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
        from firmware import roles
        from firmware.core import reasons
        from firmware.core.trust import identity

        self.board = board
        self.store = store = board.store()
        self.role = None
        self.panel = None
        rec = store.get_json(ROLE_REC, None)
        name = rec.get("role") if isinstance(rec, dict) else None
        try:
            if name is None:
                identity(store)  # unprovisioned: Reject(NOT_PROVISIONED), shown below
            if vk_dir:
                vk_dir = board.storage_root().rstrip("/") + vk_dir
                ensure_dir(vk_dir)
            self.role = roles.build(name, board, store, vk_dir or None)
        except Reject as e:
            if e.reason == reasons.NOT_PROVISIONED:
                board.display("NOT PROVISIONED")
                return
            if e.reason == reasons.UNKNOWN_ROLE:
                board.display("UNKNOWN ROLE %s" % (name if name is not None else "(none)"))
            raise
        from firmware.frontpanel import FrontPanel

        self.panel = FrontPanel(board, self.role)
        self.net = attach_net(board, self.role)
        board.display("READY %s" % self.role.name.upper())

    def poll(self):
        """One pass over every input; never blocks."""
        if self.panel is None:
            return
        self.panel.poll()
        self.role.poll(self.board.time())
        if self.net is not None:
            self.net.poll()


def attach_net(board, role):
    """The board's HAN node and, on a Comms Hub with a WAN address, its WAN endpoint and GBCS routing
    (firmware/wan/node.py); None when it has neither."""
    from firmware.wan import node

    return node.attach(board, role)


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
