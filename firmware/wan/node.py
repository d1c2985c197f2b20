"""Wiring of a board's WAN and HAN into the application loop (firmware/app.py): on a Comms Hub the
WAN endpoint (board.wan_address(): TCP on loopback on a virtual board, Wi-Fi on the ESP32) and the
router (firmware/wan/router.py); on a meter the GBCS tunnel server (firmware/wan/tunnel.py) on the
node's HAN, serving GBCS over the HAN exactly as over the optical port (role.process).

    net = attach(board, role)     # None when the board has neither a WAN nor a HAN
    net.poll()                    # from App.poll: never blocks
"""
TUNNELING = 0x0704


def open_han(board, role):
    """The node's HAN interface (firmware.han, the HAN stack), or None when this firmware or board
    has no HAN. Shape used here: poll(), send(dst_eui8, cluster, zcl), recv() -> (src_eui8,
    cluster, zcl) or None."""
    try:
        import firmware.han as H
    except ImportError:  # an image without the HAN stack: no HAN
        return None
    fn = getattr(H, "open", None)
    return fn(board, role) if fn is not None else None


class HubNode:
    def __init__(self, role, han, endpoint, ticks_ms):
        from firmware.wan.router import Router

        self.han = han
        self.router = Router(role, han, endpoint, ticks_ms)

    def poll(self):
        if self.han is not None:
            self.han.poll()
        self.router.poll()


class MeterNode:
    def __init__(self, role, han):
        from firmware.wan.tunnel import Server

        self.han = han
        self.server = Server(han, role)
        self.role = role

    def poll(self):
        from firmware.alerts import Reject

        han = self.han
        han.poll()
        for _ in range(8):
            f = han.recv()
            if f is None:
                return
            if f[1] == TUNNELING:
                try:
                    self.server.on_zcl(f[0], f[2])
                except Reject as e:  # a malformed tunnel frame: logged, nothing done
                    self.role.seclog.append("han tunnel %s" % (e.detail[:60],))


def attach(board, role, han=None):
    if han is None:
        han = open_han(board, role)
    addr = board.wan_address() if hasattr(board, "wan_address") else None
    if role.name == "chf" and addr is not None:
        from firmware.wan.endpoint import Endpoint

        return HubNode(role, han, Endpoint(addr[0], addr[1]), board.ticks_ms)
    if han is not None and role.name != "chf":
        return MeterNode(role, han)
    return None
