"""The sleepy GSME's HAN session with its GPF (shared/reference/gas.md §4.4, §4.5; GBCS §10.2.2 as
quoted there): at each wake the GSME opens its own tunnel to the hub (ZSE Tunneling 0x0704
RequestTunnel, protocol 6 GB-HRGP, manufacturer 0xFFFF, no flow control, 1500 octets), GETs the
messages the GPF queued for it until none is left, answering each with a PUT, PUTs its queued
alerts, and reports to its mirror (the state after the wake's commands):

    GSME -> hub  TransferData 04 ‖ report      mirror report (firmware/gas/gpf.py build_report)
    GSME -> hub  TransferData 03 ‖ message     PUT: an alert or a response
    GSME -> hub  TransferData 01               GET
    hub -> GSME  TransferData 02 ‖ n ‖ message one queued message, n = still waiting after it
    hub -> GSME  TransferData 02 00            none waiting

[Deviation: the mirror report travels in the tunnel (sub-protocol byte 04) as ONE GBZ container of
Report Attributes components, so a wake is one mirror write; a GBCS GSME reports attributes to the
mirror endpoint with ZCL attribute reporting.]

    hub = Hub(gpf)                           # the GPF's side: hub.on_zcl(zcl) -> (reply zcl or None,
                                             #   GBCS message from the GSME to pass on or None)
    wake(gsme, send, now)                    # the GSME's side of one wake; send(zcl) -> reply zcl
                                             #   or None (the medium: the HAN port or in memory)

A message the GSME refuses gets no PUT; the hub drops it from the queue at the next GET (the GSME
has taken it), so no message is handed over again after the GSME answered or refused it.
"""
from firmware.compat import const
from firmware.zigbee import zcl

GET = const(1)
GET_RESPONSE = const(2)
PUT = const(3)
REPORT = const(4)
PROTOCOL_GB_HRGP = const(6)


def _frame(seq, cmd, direction, payload):
    return zcl.build(zcl.Header(zcl.CLUSTER, seq, cmd, direction, True), payload)


class Hub:
    """The GPF's end of the GSME's tunnel (the tunnel server)."""

    def __init__(self, gpf):
        self.gpf = gpf
        self.tid = 1
        self.sent = None  # queue id of the message handed over at the last GET (RAM only)

    def on_zcl(self, frame, now=None):
        from firmware.gas import gpf as G

        h, p = zcl.parse(frame)
        if h.cmd == zcl.TUNNEL_REQUEST and h.direction == zcl.TO_SERVER:
            return _frame(h.seq, zcl.TUNNEL_REQUEST_RSP, zcl.TO_CLIENT,
                          zcl.request_tunnel_response(self.tid, 0 if p[:1] == b"\x06" else 3)), None
        if h.cmd != zcl.TUNNEL_TRANSFER_TO_SERVER or h.direction != zcl.TO_SERVER:
            return None, None
        _, data = zcl.parse_transfer_data(p)
        dev = self.gpf
        if data[:1] == bytes((REPORT,)):
            G.report(dev, data[1:], now)
            return None, None
        if data[:1] == bytes((PUT,)):
            self.sent = None
            G.put(dev, data[1:], now)
            return None, data[1:]
        if data[:1] == bytes((GET,)):
            if self.sent is not None:
                G.taken(dev, self.sent)
                self.sent = None
            out = G.get(dev, now)
            if len(out) > 2:
                self.sent = G.head(dev)
            return _frame(h.seq, zcl.TUNNEL_TRANSFER_TO_CLIENT, zcl.TO_CLIENT,
                          zcl.transfer_data(self.tid, out)), None
        return None, None


def wake(gsme, send, now=None):
    """One wake of GSME role `gsme` over medium `send`: tunnel, mirror report, alerts, fetch.
    Returns (messages fetched, responses put)."""
    from firmware.alerts import Reject
    from firmware.gas import life
    from firmware.gas.gpf import build_report

    seq = 0
    r = send(_frame(seq, zcl.TUNNEL_REQUEST, zcl.TO_SERVER, zcl.request_tunnel(PROTOCOL_GB_HRGP)))
    if r is None:
        return 0, 0
    h, p = zcl.parse(r)
    if h.cmd != zcl.TUNNEL_REQUEST_RSP or p[2] != 0:
        return 0, 0  # busy or refused: retried at the next wake
    tid = p[0] | p[1] << 8

    def td(data):
        nonlocal seq
        seq = (seq + 1) & 0xFF
        return send(_frame(seq, zcl.TUNNEL_TRANSFER_TO_SERVER, zcl.TO_SERVER, zcl.transfer_data(tid, data)))

    got = put = 0
    while True:
        r = td(bytes((GET,)))
        if r is None:
            break
        _, data = zcl.parse_transfer_data(zcl.parse(r)[1])
        if data[:1] != bytes((GET_RESPONSE,)) or len(data) < 3:
            break
        got += 1
        try:
            rsp = gsme.process(data[2:])
        except Reject:
            rsp = None  # refused (its alert is the gate's); the next GET tells the hub it was taken
        if rsp is not None:
            td(bytes((PUT,)) + rsp)
            put += 1
    msgs = life.alert_messages(gsme)  # the alerts queued since the last wake, and the fetch's
    for m in msgs:
        td(bytes((PUT,)) + m)
    if msgs:
        life.delivered(gsme, len(msgs))
    t = gsme.now() if now is None else now
    td(bytes((REPORT,)) + build_report(gsme.gas, t))  # the mirror: the state after this wake's commands
    fl = getattr(send, "flush", None)
    if fl is not None:
        fl()  # the HAN interface stays on until the last frame is through
    return got, put


class PortLink:
    """The GSME's medium over its HAN port (firmware/han/port.py): send(frame) puts the ZCL frame on
    the tunnel to the hub; for a RequestTunnel or a GET it then runs `pump` (the board's loop step:
    poll the port, wait for input) until the hub's reply arrives, or `timeout_ms` passes (None)."""

    def __init__(self, port, hub_eui, pump, ticks_ms, timeout_ms=5000):
        self.port = port
        self.hub = bytes(hub_eui)
        self.pump = pump
        self.ticks_ms = ticks_ms
        self.timeout_ms = timeout_ms

    def __call__(self, frame):
        from firmware.compat import ticks_diff

        h, p = zcl.parse(frame)
        want = h.cmd == zcl.TUNNEL_REQUEST or p[2:3] == bytes((GET,))
        self.port.send(self.hub, zcl.TUNNELING, frame)
        if not want:
            return None
        t0 = self.ticks_ms()
        while ticks_diff(self.ticks_ms(), t0) < self.timeout_ms:
            self.pump()
            f = self.port.recv()
            if f is not None and f[1] == zcl.TUNNELING and bytes(f[0]) == self.hub:
                return f[2]
        return None

    def flush(self, extra=20):
        """Run `pump` until the port has nothing in flight (then `extra` passes for the hub)."""
        from firmware.compat import ticks_diff

        t0 = self.ticks_ms()
        while self.port.tx and ticks_diff(self.ticks_ms(), t0) < self.timeout_ms:
            self.pump()
        for _ in range(extra):
            self.pump()
