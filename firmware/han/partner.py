"""The partner key establishment of a meter's CS03 method A join over the HAN (GBCS CS03 Join
Device, shared/reference/han.md §6; ZSE Key Establishment cluster 0x0800 with the P-256 deviation of
docs/han.md §5; ZigBee spec 2.4.3.1.1 / 2.4.4.2.1 NWK_addr_req / NWK_addr_rsp): the HAN hook
`partner_cbke` of firmware/meter/joins.py, between two joined devices of the hub's network, one
hop, NWK-secured with the network key, the CBKE frames APS-unsecured as with the Trust Centre.

    p = Partner(role, port)          # loaded by firmware/wan/node.py MeterNode on the first CS03 A
    p.cbke(eui8, initiator, deadline)  # the hook; p.poll() from the loop (a responder's deadline)

Trust: the partner's identity is checked against the KA public key provisioned for its EUI-64 in
the device's "han" record, "peers" {"<EUI-64 hex>": "<KA public key hex>"} (the table the hub has
for its joiners); no entry: UNKNOWN_ISSUER at once (code 7), without a frame on the air.

Initiator (message code 0x000D): the partner's short address from an NWK_addr_req broadcast
(ADDR_TRIES x ADDR_MS) unless known, then Initiate / Ephemeral Data / Confirm Key Data, each
answer awaited STEP_MS (ZSE: at least 2 s for the Initiate Response), the Initiate sent once more
without an answer; no Terminate after a timeout (ZSE). The CS03 is answered when the CBKE has
ended, so the hook holds the meter's loop for at most INITIATOR_MS of wall clock (below the
hub's 10 s tunnel timeout, firmware/wan/router.py), polling the HAN port meanwhile; past it, or
past the join's deadline: code 13.

Responder (0x00AB): armed until the join's deadline (CBKE_TIMEOUT) for the initiator's CBKE, and
answered 0 at once; the outcome (the entry and key written, or the failure's code) is written to
the GBCS security log as "cs03 responder <EUI-64> code <n>". While armed (and for its partners)
the device answers the partner's NWK_addr_req; CBKE frames from any other device are refused.
Each side writes the device-log entry and key (one store write, joins.outcome) only after the
peer's MAC verified; the responder sends MACV only after that write (a failed write: Terminate
NO_RESOURCES), and the key is then the APS link key of frames with the partner
(firmware/han/device.py partners).
"""
from firmware.alerts import Reject
from firmware.compat import const, ticks_diff
from firmware.han.node import EP, eui_bytes, eui_int, hexb
from firmware.zigbee import aps, cbke, zcl

STEP_MS = const(2500)
ADDR_MS = const(600)
ADDR_TRIES = const(2)
INITIATOR_MS = const(7000)
NWK_ADDR_REQ = const(0x0000)
NWK_ADDR_RSP = const(0x8000)
_ADDR = const(0)  # initiator steps
_KE = const(1)


class _Session:
    __slots__ = ("initiator", "deadline", "short", "party", "seq", "t", "tries", "step", "code")

    def __init__(self, initiator, deadline, t):
        self.initiator = initiator
        self.deadline = deadline
        self.short = None
        self.party = None
        self.seq = None
        self.t = t
        self.tries = 0
        self.step = _ADDR
        self.code = None  # set once the CBKE has ended (join response code)


def _sleep(ms):
    import time

    try:
        time.sleep_ms(ms)
    except AttributeError:  # CPython
        time.sleep(ms / 1000)


class Partner:
    def __init__(self, role, port, idle=None):
        self.role = role
        self.port = port
        self.node = n = port.node
        self.ms = n.ms
        self.idle = idle or _sleep  # idle(ms) between polls while an initiator waits
        cfg = role.store.get_json("han", None) or {}
        self.trusted = {}
        for k, v in (cfg.get("peers") or {}).items():
            self.trusted[int(k, 16)] = hexb(v)
        self.s = {}  # partner eui -> _Session
        self._tsn = 0
        n.on_peer = self._peer

    # -- the hook (firmware/meter/joins.py) ------------------------------------------------------
    def cbke(self, eui8, initiator, deadline):
        from firmware.meter import joins

        eui = eui_int(eui8)
        if eui not in self.trusted:
            joins.outcome(self.role, eui8, cbke.UNKNOWN_ISSUER)
            return None
        if initiator and not self.node.joined:
            return None  # not on the network (no network key yet): no CBKE response, 13
        s = self.s[eui] = _Session(initiator, deadline, self.ms())
        if not initiator:
            return True  # armed: the initiator's Initiate Request starts it
        p = self.node.partners.get(eui)
        s.short = p[0] if p is not None else None
        limit = INITIATOR_MS
        left = (deadline - joins.now(self.role)) * 1000
        if left < limit:
            limit = left
        t0 = s.t
        try:
            if s.short is None:
                self._addr_req(eui, s)
            else:
                self._initiate(eui, s)
            while s.code is None and ticks_diff(self.ms(), t0) < limit:
                if ticks_diff(self.ms(), s.t) >= (ADDR_MS if s.step == _ADDR else STEP_MS):
                    if s.step == _ADDR and s.tries < ADDR_TRIES:
                        self._addr_req(eui, s)
                    elif s.step == _KE and s.party.state == 1 and s.tries < 2:
                        self._initiate(eui, s)
                    else:
                        break  # no answer: no CBKE response (13), no Terminate (ZSE)
                self.port.poll()
                if s.code is None:
                    self.idle(2)
        finally:
            if self.s.get(eui) is s:
                del self.s[eui]
        return None

    def poll(self):
        """Armed responders past their deadline: no CBKE response (13), logged."""
        if not self.s:
            return
        from firmware.meter import joins

        t = joins.now(self.role)
        for eui in [e for e, s in self.s.items() if not s.initiator and t > s.deadline]:
            del self.s[eui]
            self._report(eui, None)

    # -- frames ----------------------------------------------------------------------------------
    def _peer(self, src, short, a):
        """An APS-unsecured data frame of a device other than the Trust Centre (device.py)."""
        if a.profile == aps.PROFILE_ZDP:
            if a.cluster == NWK_ADDR_REQ:
                self._addr_in(src, short, a.payload)
            elif a.cluster == NWK_ADDR_RSP:
                self._addr_rsp_in(src, short, a.payload)
            return
        s = self.s.get(src)
        if a.cluster != cbke.CLUSTER or a.profile != aps.PROFILE_SE or s is None:
            raise Reject("format", None, "frame from %016X, no method A join pending with it" % src)
        h, body = zcl.parse(a.payload)
        if h.ftype != zcl.CLUSTER:
            raise Reject("format", None, "key establishment frame type")
        if s.initiator:
            if h.direction == zcl.TO_CLIENT and s.step == _KE and h.seq == s.seq and short == s.short:
                self._initiator_in(src, s, h.cmd, body)
            return
        if h.direction == zcl.TO_SERVER:
            self._responder_in(src, short, s, h, body)

    def _addr_in(self, src, short, p):
        if len(p) < 11:
            raise Reject("format", None, "NWK_addr_req length")
        if int.from_bytes(bytes(reversed(p[1:9])), "big") != self.node.eui:
            return
        if src not in self.s and src not in self.node.partners:
            raise Reject("format", None, "NWK_addr_req from %016X, no method A join pending" % src)
        lk = self.node.link
        body = (bytes((p[0], 0)) + self.node.eui.to_bytes(8, "little")
                + lk.short.to_bytes(2, "little"))
        self._zdp(short, NWK_ADDR_RSP, body)

    def _addr_rsp_in(self, src, short, p):
        if len(p) < 12:
            raise Reject("format", None, "NWK_addr_rsp length")
        s = self.s.get(src)
        if s is None or not s.initiator or s.step != _ADDR or p[0] != self._tsn or p[1] != 0:
            return
        if (int.from_bytes(bytes(reversed(p[2:10])), "big") != src
                or (p[10] | (p[11] << 8)) != short):
            raise Reject("format", None, "NWK_addr_rsp not the sender's own address")
        s.short = short
        s.step = _KE
        s.tries = 0
        self._initiate(src, s)

    def _initiator_in(self, src, s, cmd, body):
        u = s.party
        try:
            if cmd == cbke.CMD_TERMINATE:
                st = cbke.parse_terminate(body)[0]
                s.code = self._report(src, st) or 9
                return
            if cmd == cbke.CMD_INITIATE:
                out, nxt = u.on_initiate_response(body, src), cbke.CMD_EPHEMERAL
            elif cmd == cbke.CMD_EPHEMERAL:
                out, nxt = u.on_ephemeral_response(body), cbke.CMD_CONFIRM
            elif cmd == cbke.CMD_CONFIRM:
                u.on_confirm_response(body)  # MACV verified: _keep reported the key
                return
            else:
                return
        except cbke.Terminate as e:
            self._send(s.short, cbke.CMD_TERMINATE, cbke.terminate_payload(e.status), zcl.TO_SERVER)
            if s.code is None:
                s.code = self._report(src, e.status) or 9
            return
        s.seq = self._send(s.short, nxt, out, zcl.TO_SERVER)
        s.t = self.ms()

    def _responder_in(self, src, short, s, h, body):
        try:
            if h.cmd == cbke.CMD_INITIATE:  # also a repeated one: the key establishment restarts
                s.short = short
                s.party = cbke.Responder(self.node.eui, self._ka(), {src: self.trusted[src]},
                                         self._keep(src, s))
                rsp = s.party.on_initiate_request(body, src)
            elif s.party is None or short != s.short:
                raise Reject("format", None, "key establishment step before its Initiate")
            elif h.cmd == cbke.CMD_EPHEMERAL:
                rsp = s.party.on_ephemeral_request(body)
            elif h.cmd == cbke.CMD_CONFIRM:
                rsp = s.party.on_confirm_request(body)  # the entry and key written before MACV
            elif h.cmd == cbke.CMD_TERMINATE:
                del self.s[src]
                self._report(src, cbke.parse_terminate(body)[0])
                return
            else:
                return
        except cbke.Terminate as e:
            self._send(short, cbke.CMD_TERMINATE, cbke.terminate_payload(e.status), zcl.TO_CLIENT,
                       h.seq)
            if self.s.get(src) is s:
                del self.s[src]
                if s.code is None:
                    self._report(src, e.status)
            return
        self._send(short, h.cmd, rsp, zcl.TO_CLIENT, h.seq)
        if h.cmd == cbke.CMD_CONFIRM:
            del self.s[src]

    def _keep(self, eui, s):
        """store_key of the CBKE party: the entry and key written (joins.outcome), then the key
        used for the partner's frames."""

        def keep(peer, key):
            code = self._report(eui, 0, key)
            s.code = code if code is not None else 13
            if code != 0:
                raise cbke.Terminate(cbke.NO_RESOURCES, "device log entry not written (code %r)" % code)
            self.node.partners[eui] = (s.short, bytes(key))

        return keep

    def _report(self, eui, status, key=None):
        from firmware.meter import joins

        s = self.s.get(eui)
        code = joins.outcome(self.role, eui_bytes(eui), status, key)
        if s is None or not s.initiator:
            self.role.seclog.append("cs03 responder %016X code %r" % (eui, code))
        return code

    # -- sending ---------------------------------------------------------------------------------
    def _addr_req(self, eui, s):
        self._tsn = (self._tsn + 1) & 0xFF
        body = bytes((self._tsn,)) + eui.to_bytes(8, "little") + b"\x00\x00"
        lk = self.node.link
        f = aps.ApsFrame(aps.DATA, lk.aps_counter(), dst_ep=0, cluster=NWK_ADDR_REQ,
                      profile=aps.PROFILE_ZDP, src_ep=0, payload=body, delivery=aps.BROADCAST)
        lk.send_nwk(0xFFFD, aps.build(f), mac_dst=0xFFFF)  # NWK: rx-on-when-idle devices
        s.tries += 1
        s.t = self.ms()

    def _zdp(self, short, cluster, body):
        lk = self.node.link
        f = aps.ApsFrame(aps.DATA, lk.aps_counter(), dst_ep=0, cluster=cluster,
                      profile=aps.PROFILE_ZDP, src_ep=0, payload=body)
        lk.send_nwk(short, aps.build(f))

    def _initiate(self, eui, s):
        s.party = cbke.Initiator(self.node.eui, self._ka(), {eui: self.trusted[eui]},
                                 self._keep(eui, s))
        s.step = _KE
        s.seq = self._send(s.short, cbke.CMD_INITIATE, s.party.start(), zcl.TO_SERVER)
        s.tries += 1
        s.t = self.ms()

    def _send(self, short, cmd, payload, direction, seq=None):
        return self.node.link.send_zcl(short, cbke.CLUSTER, cmd, payload, direction, seq=seq, ep=EP)

    def _ka(self):
        from firmware.core.trust import identity

        return hexb(identity(self.role.store)["ka"])
