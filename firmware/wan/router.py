"""Routing of GBCS messages on the Comms Hub (GBCS §4.3.1 Comms Hub Function; the Device Log as the
HAN whitelist, shared/reference/han.md §5): a message from the WAN is
  * for the hub (recipient = the CHF's EUI-64): processed by the CHF role (its secure core) and the
    response sent back on the same connection;
  * for a device in the CHF Device Log: forwarded over the HAN through the GBCS tunnel
    (firmware/wan/tunnel.py, ZSE Tunneling 0x0704) and its response returned to the connection that
    sent the command (matched by recipient and originator counter; GBCS keeps the transaction id in
    the response); alerts the devices send come back on every WAN connection;
  * for any other device: refused with alert 0x8F84 (failure to deliver remote party message), written
    to the hub's GBCS security log, never forwarded, and a GBCS alert 0x8F84 (generic non-critical
    0x1001, MAC'd) sent to the originator when the hub holds its KA cell.
A forwarded command with no answer within TIMEOUT_MS, or that the HAN could not carry, is answered
with the 2-byte alert 0x8F84. The hub's own alerts (CS14 on every Device Log change) are sent on the
WAN while a client is connected, and dropped from the durable queue once sent.

    r = Router(role, han, endpoint, ticks_ms)
    r.poll()              # one pass: WAN input, HAN input, time-outs, pending hub alerts
"""
from firmware.alerts import Reject
from firmware.compat import const, ticks_diff

UNDELIVERED = const(0x8F84)
INTEGRITY = const(0x8F1E)
TIMEOUT_MS = const(10000)
MAX_PENDING = const(16)
TUNNELING = const(0x0704)


class Router:
    def __init__(self, role, han, endpoint, ticks_ms):
        from firmware.wan.tunnel import Client

        self.role = role
        self.han = han
        self.ep = endpoint
        self.ticks_ms = ticks_ms
        self.tunnels = Client(han) if han is not None else None
        self.pending = []  # [dst eui, counter, conn, t0 ms]
        self.held = []  # device alerts received while no WAN client was connected (bounded)
        self.stats = {"hub": 0, "forwarded": 0, "refused": 0, "responses": 0, "alerts": 0, "timeouts": 0}

    # -- WAN -> ------------------------------------------------------------------------------------
    def on_wan(self, conn, msg):
        from firmware.gbcs import frame

        try:
            m = frame.parse(msg)
        except Reject as e:
            self.ep.refuse(conn, e.code or INTEGRITY)
            self.role.seclog.append("wan format %s" % (e.detail[:60],))
            return
        rcp = bytes(m.recipient)
        if rcp == bytes(self.role.eui):
            self.stats["hub"] += 1
            try:
                out = self.role.process(bytes(msg))
            except Reject as e:  # the gate logged it
                self.ep.refuse(conn, e.code or INTEGRITY)
                return
            self.ep.send(conn, out)
            return
        if self.role.devlog.find(rcp) is None or self.tunnels is None:
            self._refuse(conn, m, "not in the Device Log" if self.tunnels is not None else "no HAN")
            return
        if len(self.pending) >= MAX_PENDING:
            self.ep.refuse(conn, UNDELIVERED)
            return
        try:
            self.tunnels.send(rcp, msg)
        except Reject as e:
            self.role.seclog.append("wan han %s %s" % (_hex(rcp), e.reason))
            self.ep.refuse(conn, UNDELIVERED)
            return
        self.stats["forwarded"] += 1
        self.pending.append([rcp, m.counter, conn, self.ticks_ms()])

    def _refuse(self, conn, m, why):
        self.stats["refused"] += 1
        self.role.seclog.append("wan refused %04X ctr %d for %s: %s" % (
            m.message_code, m.counter, _hex(m.recipient), why))
        self.ep.refuse(conn, UNDELIVERED)
        alert = self._alert_for(m.originator)
        if alert is not None:
            self.ep.send(conn, alert)

    def _alert_for(self, originator):
        """A GBCS alert 0x8F84 to the command's originator (None when the hub has no KA cell for it)."""
        from firmware.hub import alerts

        t = self.role.trust
        role = t.party_role(bytes(originator))
        if role is None:
            return None
        try:
            return alerts.build(t, self.role.store, UNDELIVERED, self.role.now(), recipient_role=role)
        except Reject as e:
            self.role.seclog.append("wan alert %s" % (e.reason,))
            return None

    # -- HAN -> ------------------------------------------------------------------------------------
    def on_han(self, src, cluster, frame_bytes):
        if cluster != TUNNELING or self.tunnels is None:
            return
        try:
            events = self.tunnels.on_zcl(src, frame_bytes)
        except Reject as e:
            self.role.seclog.append("han tunnel %s %s" % (_hex(src), e.detail[:60]))
            return
        for kind, peer, data in events:
            if kind == "msg":
                self._from_device(peer, data)
            else:
                self.role.seclog.append("han tunnel %s %s" % (_hex(peer), data[:60]))
                self._fail_oldest(peer)

    def _from_device(self, src, data):
        if len(data) == 2:  # the device refused the command: its alert code
            p = self._take(src, None)
            if p is not None:
                self.ep.refuse(p[2], (data[0] << 8) | data[1])
            return
        from firmware.gbcs import frame

        try:
            m = frame.parse(data)
        except Reject:
            self.role.seclog.append("han malformed GBCS from %s" % _hex(src))
            return
        if m.cra != frame.CRA_ALERT:
            p = self._take(src, m.counter)
            if p is not None:
                self.stats["responses"] += 1
                self.ep.send(p[2], data)
                return
        self.stats["alerts"] += 1
        self._to_wan(data)

    def _take(self, src, counter):
        for i, p in enumerate(self.pending):
            if p[0] == src and (counter is None or p[1] == counter):
                return self.pending.pop(i)
        return None

    def _fail_oldest(self, src):
        p = self._take(src, None)
        if p is not None:
            self.ep.refuse(p[2], UNDELIVERED)

    def _to_wan(self, msg):
        if self.ep.clients():
            self.ep.broadcast(msg)
        else:
            self.held.append(msg)
            if len(self.held) > 8:
                self.held.pop(0)

    # -- the loop ------------------------------------------------------------------------------------
    def poll(self):
        ep = self.ep
        for conn, kind, msg in ep.poll():
            self.on_wan(conn, msg)
        han = self.han
        if han is not None:
            for _ in range(8):
                f = han.recv()
                if f is None:
                    break
                self.on_han(f[0], f[1], f[2])
        if self.pending:
            now = self.ticks_ms()
            for p in list(self.pending):
                if ticks_diff(now, p[3]) > TIMEOUT_MS:
                    self.pending.remove(p)
                    self.stats["timeouts"] += 1
                    self.role.seclog.append("wan timeout ctr %d to %s" % (p[1], _hex(p[0])))
                    ep.refuse(p[2], UNDELIVERED)
        if ep.clients():
            while self.held:
                ep.broadcast(self.held.pop(0))
            if self.role.devlog.pending():
                alerts = self.role.alerts()
                for a in alerts:
                    ep.broadcast(a)
                self.role.devlog.delivered(len(alerts))


def _hex(b):
    import binascii

    return binascii.hexlify(bytes(b)).decode().upper()
