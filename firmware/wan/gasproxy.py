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
    r.poll()                       # the router's pass; the GPF's queue expiry once a second
    gpf, gsme = open_gpf(board, chf_role)   # the hub board's GPF, when provisioned (else None, None)

On a hub board the GPF is a device of its own (its EUI-64, keys, trust anchors, originator
counters) with its own durable store in the directory `gpf` under the board's storage root
(provisioned like any device: firmware/provisioning.py); the CHF's store record "gpf" {"gsme":
hex EUI-64} says that the hub carries it and which GSME it serves.
"""
from firmware.alerts import Reject
from firmware.compat import const, ticks_diff
from firmware.wan.router import Router

TUNNELING = const(0x0704)
INTEGRITY = const(0x8F1E)
MAX_WAITING = const(8)
EXPIRE_MS = const(1000)  # how often the GPF's queue is checked for messages past their lifetime
GPF_REC = const("gpf")  # CHF store: {"gsme": hex EUI-64}: this hub carries a GPF serving that GSME
GPF_DIR = const("/gpf")  # the GPF's store, under the board's storage root


class GasRouter(Router):
    def __init__(self, role, han, endpoint, ticks_ms, gpf, gsme_eui):
        from firmware.gas.sleepy import Hub

        Router.__init__(self, role, han, endpoint, ticks_ms)
        self.gpf = gpf
        self.gsme = bytes(gsme_eui)
        self.tunnel_end = Hub(gpf)
        self.waiting = []  # [originator counter, connection] of commands queued for the GSME
        self.stats["gpf"] = self.stats["queued"] = 0
        self._expired = ticks_ms()

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

    def poll(self):
        Router.poll(self)
        now = self.ticks_ms()
        if ticks_diff(now, self._expired) >= EXPIRE_MS:
            self._expired = now
            self.gpf.poll()


def open_gpf(board, chf):
    """(GPF role, GSME EUI-64) of the hub board's GPF when the CHF's store names one (record
    GPF_REC) and the GPF's store is provisioned; (None, None) otherwise — a GPF that does not build
    is written to the CHF's event log and the hub runs without it."""
    import binascii

    rec = chf.store.get_json(GPF_REC, None)
    if not isinstance(rec, dict):
        return None, None
    from firmware import roles
    from firmware.store.durable import Store

    root = board.storage_root().rstrip("/")
    try:
        gsme = binascii.unhexlify(rec.get("gsme", ""))
        if len(gsme) != 8:
            raise Reject("provision", None, "gpf record without a GSME EUI-64")
        st = Store(root + GPF_DIR)
        st.boot()
        return roles.build("gpf", board, st, root + "/vk"), gsme
    except (Reject, ValueError, OSError) as e:  # not provisioned, a bad record, its store unreadable
        chf.store.log("event").append(("gpf not started: %s" % (e,))[:120])
        return None, None
