"""The Gas Proxy Function on the Comms Hub's routing (GBCS §4.3.1; shared/reference/gas.md §4.1,
§4.4): the hub's router (firmware/wan/router.py) with the GPF beside the CHF —
  * a WAN message for the GPF (recipient = the GPF's EUI-64) is answered at once by the GPF role
    (firmware/roles/gpf.py: reads from the mirror) on the same connection;
  * a WAN message for the sleepy GSME the GPF serves is queued at the GPF (firmware/gas/gpf.py:
    durable, 24 h lifetime) and its response goes back to the connection that sent it when the GSME
    PUTs it at a wake (matched by originator counter; a response whose connection has gone is
    broadcast like an alert);
  * the GSME's ZSE Tunneling frames (its own tunnel: RequestTunnel, mirror report, GET, PUT) are
    served by the GPF's tunnel end (firmware/gas/sleepy.py Hub); its alerts go to the WAN;
  * everything else as the router does it (the CHF, the Device Log's devices, refusals).

    r = GasRouter(chf_role, han, endpoint, ticks_ms, gpf_role, gsme_eui8)
    r.poll()
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.wan.router import Router

TUNNELING = const(0x0704)
INTEGRITY = const(0x8F1E)
MAX_WAITING = const(8)


class GasRouter(Router):
    def __init__(self, role, han, endpoint, ticks_ms, gpf, gsme_eui):
        from firmware.gas.sleepy import Hub

        Router.__init__(self, role, han, endpoint, ticks_ms)
        self.gpf = gpf
        self.gsme = bytes(gsme_eui)
        self.tunnel_end = Hub(gpf)
        self.waiting = []  # [originator counter, connection] of commands queued for the GSME
        self.stats["gpf"] = self.stats["queued"] = 0

    def on_wan(self, conn, msg):
        from firmware.gbcs import frame

        try:
            m = frame.parse(msg)
        except Reject:
            return Router.on_wan(self, conn, msg)
        rcp = bytes(m.recipient)
        if rcp == bytes(self.gpf.eui):
            self.stats["gpf"] += 1
            try:
                out = self.gpf.process(bytes(msg))
            except Reject as e:  # the GPF's gate logged it
                self.ep.refuse(conn, e.code or INTEGRITY)
                return
            self.ep.send(conn, out)
            return
        if rcp == self.gsme:
            from firmware.gas import gpf

            try:
                gpf.queue(self.gpf, bytes(msg))
            except Reject as e:
                self.role.seclog.append("gpf queue %s" % (e.detail[:60],))
                self.ep.refuse(conn, 0x8F84)
                return
            self.stats["queued"] += 1
            self.waiting.append([m.counter, conn])
            del self.waiting[:-MAX_WAITING]
            return
        Router.on_wan(self, conn, msg)

    def on_han(self, src, cluster, frame_bytes):
        if bytes(src) != self.gsme or cluster != TUNNELING:
            return Router.on_han(self, src, cluster, frame_bytes)
        try:
            reply, msg = self.tunnel_end.on_zcl(frame_bytes)
        except Reject as e:
            self.role.seclog.append("gpf tunnel %s" % (e.detail[:60],))
            return
        if reply is not None:
            try:
                self.han.send(self.gsme, TUNNELING, reply)
            except Reject as e:
                self.role.seclog.append("gpf han %s" % (e.reason,))
        if msg is None:
            return
        from firmware.gbcs import frame

        try:
            r = frame.parse(msg)
        except Reject:
            return
        if r.cra == frame.CRA_RESPONSE:
            for w in self.waiting:
                if w[0] == r.counter:
                    self.waiting.remove(w)
                    if w[1] in self.ep.conns:
                        self.stats["responses"] += 1
                        self.ep.send(w[1], msg)
                        return
                    break
        self.stats["alerts"] += 1
        self._to_wan(msg)
