"""The sleepy GSME's HAN node in the application loop (shared/reference/gas.md §4.4, §4.5; ZSE
Tunneling 0x0704 as firmware/gas/sleepy.py uses it): the GSME joins the hub on its HAN port
(firmware/han: association, network key, CBKE), and at every wake its clock schedules
(firmware/roles/gsme.py poll() sets the role's `woken`, every 30 min by default) it runs one session
with the Gas Proxy Function over that port — its own tunnel, GET until the GPF's queue is empty,
each message through the GSME's gate and its response PUT, its queued alerts PUT, its mirror report
last (sleepy.wake over sleepy.PortLink). Its radio is on while it joins and during a session only:
between sessions the node neither polls the port nor lets the radio end the loop's idle wait
(board.unwatch), and what the air carried to it meanwhile is dropped when the radio comes back on,
as a receiver switched off never heard it.

    node = SleepyNode(board, role, han)    # han: the GSME's HAN port (firmware.han.open)
    node.poll()                            # from App.poll; a wake's session runs inside it
    node.wait_ms()                         # until the next wake on the board's clock
"""
from firmware.alerts import Reject
from firmware.compat import const

IDLE_MS = const(1000)
PUMP_MS = const(20)  # longest idle slice while a session waits for the hub's reply


class SleepyNode:
    def __init__(self, board, role, han):
        import binascii

        self.board = board
        self.role = role
        self.han = han
        rec = role.store.get_json("han", None)
        tc = rec.get("tc", "") if isinstance(rec, dict) else ""
        self.hub = binascii.unhexlify(tc) if len(tc) == 16 else None
        self.wakes = 0
        self.on = True  # the radio (watched by the board since firmware.han.open)
        self.last = None  # (messages fetched, responses put) of the last session

    def poll(self):
        han = self.han
        role = self.role
        woken = getattr(role, "woken", False)
        joined = self.hub is not None and han.joined(self.hub)
        if joined and not woken:
            self._radio(False)  # asleep: the HAN interface is off until the next wake
            return
        self._radio(True)
        han.poll()
        while han.recv() is not None:  # outside a session nothing is expected from the hub
            pass
        if woken and joined:
            role.woken = False
            self.session()
            self._radio(False)

    def _radio(self, on):
        """Switch the HAN interface on (frames that reached it while off dropped) or off."""
        if on == self.on:
            return
        self.on = on
        r = self.board.radio()
        sock = getattr(r, "sock", None)
        if on:
            while r.recv() is not None:
                pass
            if sock is not None:
                self.board.watch(sock)
        elif sock is not None:
            self.board.unwatch(sock)

    def session(self):
        """One wake: tunnel, GET/PUT, alerts, mirror report (firmware/gas/sleepy.py wake)."""
        from firmware.gas.sleepy import PortLink, wake

        try:
            self.last = wake(self.role, PortLink(self.han, self.hub, self._pump, self.board.ticks_ms))
        except Reject as e:  # the HAN refused a frame (busy, no link key): the next wake tries again
            self.role.seclog.append("han wake %s" % (e.reason,))
            self.last = None
            return
        self.wakes += 1
        print("gsme wake %d: fetched %d, answered %d" % (self.wakes, self.last[0], self.last[1]))

    def _pump(self):
        han = self.han
        han.poll()
        ms = han.wait_ms()
        self.board.wait(ms if ms < PUMP_MS else PUMP_MS)  # the radio's input ends it early

    def wait_ms(self):
        """Until the next wake in real ms (the board's virtual clock rate counted), the HAN port's
        own timers, at most IDLE_MS; 0 while a wake waits for the join."""
        ms = self.han.wait_ms()
        role = self.role
        if getattr(role, "woken", False):
            return ms if ms < IDLE_MS else IDLE_MS
        left = role.gas.st["wk"] - role.now()
        if left <= 0:
            return 0
        vc = getattr(self.board, "_vclock", None)
        rate = vc[2] if vc is not None and vc[2] > 0 else 1
        w = left * 1000 // rate
        if w < ms:
            ms = w
        return ms if ms < IDLE_MS else IDLE_MS
