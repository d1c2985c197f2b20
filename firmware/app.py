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
IDLE_MS = 1000  # longest idle wait of the application loop with nothing due (front-panel timers)
MIN_MS = 2  # shortest idle wait between polls (the loop's old fixed slice)
NET_MS = 20  # idle wait cap while network services run that do not say when their next timer is


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
        self._waits = None  # (net.wait_ms or None, role.meter or None), for wait_ms()
        rec = store.get_json(ROLE_REC, None)
        name = rec.get("role") if isinstance(rec, dict) else None
        try:
            if name is None:
                identity(store)  # unprovisioned: Reject(NOT_PROVISIONED), shown below
            if vk_dir:
                vk_dir = board.storage_root().rstrip("/") + vk_dir
                ensure_dir(vk_dir)
            self.role = roles.build(name, board, store, vk_dir or None)
            if store.get("fault") is not None:  # a test fault armed on this board (firmware/core/faults.py)
                from firmware.core import faults
                faults.load(self.role.table, store)
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

    def wait_ms(self):
        """How long the loop may idle with no input before this app has work of its own: the
        metering engine's next accounting step in real time (0 while it catches up), the network
        services' next timer (their wait_ms(), else NET_MS), at most IDLE_MS."""
        if self.panel is None:
            return IDLE_MS
        ms = IDLE_MS
        if self.panel.port.pending():  # a reply held for the IEC reaction time (20 ms)
            return 2
        w = self._waits
        if w is None:  # looked up once (getattr(obj, "name") interns the name on every call)
            w = self._waits = (getattr(self.net, "wait_ms", None), getattr(self.role, "meter", None))
        if self.net is not None:
            ms = min(ms, w[0]() if w[0] is not None else NET_MS)
        if w[1] is not None:
            ms = min(ms, _meter_ms(self.board, w[1]))
        return ms


def _meter_ms(board, m):
    """Real ms until the metering engine's next accounting step (firmware/meter/engine.py poll:
    every cfg step meter seconds and at half-hour boundaries, a due future-dated change), scaled
    by the virtual clock's rate on a virtual board; 0 when it is due now."""
    try:
        t = m.r["t"]
        due = min(t + m.cfg["step"], (t // 1800 + 1) * 1800)
        pm = m.model.account.get("pending_mode")
        if pm:
            at = m._at(pm["at"])
            if at is not None:
                due = min(due, at)
        if m.credit_in() != m.r["s"]:
            return 0
    except (AttributeError, KeyError, TypeError):  # an engine without these: poll at NET_MS
        return NET_MS
    left = due - board.time()
    if left <= 0:
        return 0
    rate = board.clock_rate()
    if rate <= 0:  # a stopped virtual clock: poll at IDLE_MS
        rate = 1
    return min(IDLE_MS, left * 1000 // rate)


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
    """Poll `app` forever (or `polls` times), idling between polls in board.wait() until an input
    may be waiting or the app's next timer (App.wait_ms). An exception escaping a poll - MemoryError
    when the heap is exhausted or fragmented, or a firmware bug - is recorded and the board reset, as
    a watchdog would: a reset is a power cut, after which the store holds every command either fully
    applied or never seen (docs/storage.md), and the meter goes back to serving. Left at the REPL
    it would answer nothing until someone power-cycled it. KeyboardInterrupt (mpremote taking the
    REPL) is not an Exception and still stops the loop."""
    wait = getattr(board, "wait", None)
    while polls:
        try:
            app.poll()
            ms = app.wait_ms() if wait is not None else 2
        except Exception as e:  # noqa: BLE001 - every fault ends in a reset, none is ignored
            store = app.store
            app = None  # drop our reference so the log line below has heap to work with
            fault(board, store, e)
            return  # reached only where reset() returns (a detached board in tests)
        if wait is not None:
            # at least the 2 ms slice the loop always slept, also while work is due (metering
            # catching up): a host's Ctrl-C then lands in the wait, not in the middle of the
            # firmware's work (the unix port raises it asynchronously, wherever the C code is)
            wait(ms if ms > MIN_MS else MIN_MS)
        else:
            import time

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
