"""Wiring of a board's WAN and HAN into the application loop (firmware/app.py): on a Comms Hub the
WAN endpoint (board.wan_address(): TCP on loopback on a virtual board, Wi-Fi on the ESP32) and the
router (firmware/wan/router.py); on a meter the GBCS tunnel server (firmware/wan/tunnel.py) on the
node's HAN, serving GBCS over the HAN exactly as over the optical port (role.process), and its ZCL
attribute server (firmware/han/zclserver.py: ZSE Metering / Prepayment Read Attributes);
on the IHD its HAN application (firmware/han/ihd.py: ZSE reads of its meter).
Gas: a hub carrying the Gas Proxy Function routes with it beside the CHF (firmware/wan/gasproxy.py);
the sleepy gas meter runs its wake sessions with it (firmware/gas/node.py).

    net = attach(board, role)             # HAN from firmware.han.open, WAN from board.wan_address()
    net.poll()                            # from App.poll (polls the HAN port too): never blocks

The HAN port (firmware.han.open -> firmware/han/port.py) is what the tunnel and the router use:
poll(), send(dst_eui8, cluster, zcl_frame) APS-secured with the TC link key, recv() -> (src_eui8,
cluster, zcl_frame) or None (APS-secured frames only).
"""
from firmware.alerts import Reject

TUNNELING = 0x0704
ZCL_SERVED = (0x0702, 0x0705)  # Metering, Prepayment: the meter's attribute server
MAX_QUEUE = 8
ALERT_REC = "han_alert_seq"  # {"seq": last alert sequence number sent to the hub}
IDLE_MS = 1000  # nothing pending: input on the WAN sockets or the radio wakes the loop
HAN_IDLE_MS = 20  # a HAN port without wait_ms(): its timers need a pass this often


class HubNode:
    """The hub's end: the router, or with a GPF on the hub (gpf: its role, gsme: the EUI-64 of the
    GSME it serves) the router with the GPF beside the CHF (firmware/wan/gasproxy.py)."""

    def __init__(self, role, han, endpoint, ticks_ms, gpf=None, gsme=None):
        self.han = han
        if gpf is None:
            from firmware.wan.router import Router

            self.router = Router(role, han, endpoint, ticks_ms)
        else:
            from firmware.wan.gasproxy import GasRouter

            self.router = GasRouter(role, han, endpoint, ticks_ms, gpf, gsme)

    def poll(self):
        if self.han is not None:
            self.han.poll()
        self.router.poll()

    def wait_ms(self):
        """How long the application loop may sleep (its sockets and radio wake it earlier)."""
        return _wait(self.han, 50 if self.router.pending else IDLE_MS)


class MeterNode:
    """The meter's end: the tunnel server, and its queued alerts (firmware/meter/engine.py, built by
    firmware/meter/alertmsg.py) sent to the hub through the open tunnel, oldest first, one per pass;
    the last sequence number sent is kept in the store (ALERT_REC), so after a power cut an alert is
    sent again rather than lost (the WAN side sees its originator counter twice at worst)."""

    def __init__(self, role, han):
        from firmware.wan.tunnel import Server

        self.han = han
        self.server = Server(han, role)
        self.role = role
        rec = role.store.get_json(ALERT_REC, None)
        self.sent = rec.get("seq", 0) if isinstance(rec, dict) else 0
        self.partner = None  # firmware/han/partner.py, loaded by the first CS03 method A
        role.partner_cbke = self._partner_cbke
        node = getattr(han, "node", None)
        if node is not None and hasattr(node, "forget"):  # CS04: the unjoined partner's key goes at once
            role.partner_forget = lambda eui8: node.forget(int.from_bytes(bytes(eui8), "big"))

    def poll(self):
        han = self.han
        han.poll()
        for _ in range(MAX_QUEUE):
            f = han.recv()
            if f is None:
                break
            if f[1] == TUNNELING:
                try:
                    self.server.on_zcl(f[0], f[2])
                except Reject as e:  # a malformed tunnel frame: logged, nothing done
                    self.role.seclog.append("han tunnel %s" % (e.detail[:60],))
            elif f[1] in ZCL_SERVED and self.role.name == "esme":
                self._zcl(f)
        if self.server.peers:
            self._alert()
        if self.partner is not None:
            self.partner.poll()

    def _partner_cbke(self, eui, initiator, deadline):
        """The CS03 method A hook of firmware/meter/joins.py: CBKE with the partner on the HAN."""
        if self.partner is None:
            from firmware.han.partner import Partner

            self.partner = Partner(self.role, self.han)
        return self.partner.cbke(eui, initiator, deadline)

    def _zcl(self, f):
        """Metering / Prepayment Read Attributes (firmware/han/zclserver.py, loaded on first use)."""
        from firmware.han import zclserver

        try:
            out = zclserver.answer(self.role, f[0], f[1], f[2])
            if out is not None:
                self.han.send(f[0], f[1], out)
        except Reject as e:  # untrusted sender, malformed frame, HAN busy: logged, nothing sent
            self.role.seclog.append("han zcl %s %s" % (e.reason, (e.detail or "")[:60]))

    def _alert(self):
        eng = getattr(self.role, "meter", None)
        if eng is None:
            return
        for a in eng.alerts():
            if a[0] > self.sent:
                break
        else:
            return
        from firmware.meter import alertmsg

        try:
            msg = alertmsg.build(self.role.trust, self.role.store, a)
            if not self.server.push(msg):
                return
        except Reject as e:  # no cell for the recipient, or the HAN busy: logged, tried again later
            if e.reason in ("busy", "not-joined"):
                return
            self.role.seclog.append("han alert %d %s" % (a[0], e.reason))
        self.sent = a[0]
        self.role.store.put_json(ALERT_REC, {"seq": a[0]})

    def wait_ms(self):
        return _wait(self.han, IDLE_MS)


def _wait(han, mine):
    f = getattr(han, "wait_ms", None)
    w = f() if f is not None else HAN_IDLE_MS
    return w if w < mine else mine


def open_han(board, role):
    """The node's HAN port (firmware.han.open: None without a "han" record or a radio, or in an
    image without the HAN stack)."""
    try:
        import firmware.han as H
    except ImportError:  # an image without the HAN stack: no HAN
        return None
    return H.open(board, role)


def attach(board, role, han=None, wan=None):
    """The node's network services: a hub's WAN endpoint + router (or just its HAN node when it has
    no WAN address), a meter's tunnel server; None when there is nothing to run. `han`: a HAN port
    (or a firmware/han node, wrapped in HanPort), default firmware.han.open; `wan`: (host, port),
    default board.wan_address()."""
    if han is None:
        han = open_han(board, role)
    if wan is None:
        fn = getattr(board, "wan_address", None)
        wan = fn() if fn is not None else None
    if role.name == "chf":
        if wan is None:
            return han  # no WAN: the HAN node alone (joins), its application frames unused
        from firmware.wan.endpoint import Endpoint

        ep = Endpoint(wan[0], wan[1], watch=getattr(board, "watch", None), unwatch=getattr(board, "unwatch", None))
        gpf = gsme = None
        if role.store.get("gpf") is not None:  # a hub carrying a Gas Proxy Function
            from firmware.wan.gasproxy import open_gpf

            gpf, gsme = open_gpf(board, role)
        return HubNode(role, han, ep, board.ticks_ms, gpf, gsme)
    if role.name == "gsme":  # the sleepy gas meter: HAN sessions at its wakes only
        if han is None:
            return None
        from firmware.gas.node import SleepyNode

        return SleepyNode(board, role, han)
    if role.name == "ihd":  # a HAN application of its own: ZSE reads of its meter
        if han is None:
            return None
        from firmware.han.ihd import IhdNode

        return IhdNode(role, han, board)
    return MeterNode(role, han) if han is not None else None
