"""A device joining the Comms Hub's HAN (IEEE 802.15.4-2006 §7.5.3 association and §7.5.2
scan; ZigBee spec 4.6.3.2 network key from the Trust Centre; ZSE Key Establishment 0x0800 with
the P-256 deviation of docs/han.md §5): the ESME side of a join.

    dev = Joiner(radio, store, eui, ms=board.ticks_ms)
    dev.poll()                   # from the application's loop; dev.state == JOINED when done

Steps (each repeated after STEP_MS without an answer, a CBKE step after CBKE_MS as ZSE's
>= 2 s; after a refusal the device waits REFUSED_MS before asking again): beacon request -> a
beacon from the configured Trust Centre
(extended PAN id = the hub's EUI-64) -> association request -> association response (status
0x02: refused) -> the APS Transport-Key (NWK-unsecured, APS-secured with the key-transport key
of the device's install-code link key, or of its TC link key on a rejoin; MIC, counter, source
and destination checked) -> the network key persisted before use -> NWK-secured Device_annce ->
CBKE as initiator -> the TC link key persisted only after the hub's MACV verifies -> JOINED.

Persistent join state: store record "han_join" {"pan", "short", "nwk", "seq", "tc_link"} written
once when the network key arrives and once when the TC link key is established; after a reset
a device with a TC link key is back on the network at once, one with only the network key
restarts key establishment. Frame counters: firmware/zigbee/secure.py (durable, write-ahead).

Partners (optional "partners" {"<EUI-64 hex>": [short, "<application link key hex>"]} in the same
record): devices of the premises this device talks to directly, one hop, with an APS application
link key between the two (ZigBee spec 4.4 APS security with a link key other than the Trust
Centre's; in GB the link of a type 2 device joined to a meter by CS03 method B, no CBKE between
them). A partner's frames are accepted NWK-secured from its short address and, for the
application, only APS-secured with that key; everyone else's are refused as before.
The partner link keys of CS03 method A joins (CBKE between the two devices, firmware/han/partner.py)
are in the meter's device log ("devlog" entries with a key): such a partner's short address is
learnt from its first frame APS-secured with that key. While `on_peer` is set (partner.py, during
a method A join), APS-unsecured data frames of other devices of the network (NWK_addr_req/rsp,
Key Establishment) go to it instead of being refused.
"""
from firmware.alerts import Reject
from firmware.compat import const, ticks_diff
from firmware.han.node import CFG_REC, Link, eui_int, hexb
from firmware.zigbee import aps, mac, zcl

JOIN_REC = const("han_join")
DEVLOG_REC = const("devlog")  # the meter's own device log (firmware/meter/joins.py)
STEP_MS = const(400)
CBKE_MS = const(2500)  # per CBKE step (ZSE: >= 2 s for the Initiate Response; the hub's ECDH)
REFUSED_MS = const(3000)

IDLE = const(0)
SCAN = const(1)
ASSOC = const(2)
KEY = const(3)
CBKE = const(4)
JOINED = const(5)
REFUSED = const(6)
STATES = ("idle", "scan", "assoc", "key", "cbke", "joined", "refused")


class Joiner:
    def __init__(self, radio, store, eui, ms, cfg=None, rng=None):
        from firmware.crypto.zigbee import install_code_link_key_without_crc
        from firmware.zigbee.secure import ApsSecurity

        self.store = store
        self.ms = ms
        self.rng = rng
        cfg = cfg if cfg is not None else (store.get_json(CFG_REC, None) or {})
        self.eui = eui_int(eui)
        self.tc = int(cfg["tc"], 16)
        self.tc_ka = hexb(cfg["tc_ka"])
        self.ic_key = install_code_link_key_without_crc(hexb(cfg["install_code"]))
        self.link = lk = Link(radio, self.eui, 0xFFFF)
        self.tc_link = None
        self.coord = 0x0000
        lk.aps = ApsSecurity(store, self.eui, self._link_key)
        self.cbke = None
        self.on_app = None
        self.on_ack = None  # APS acks (of fragmented application data) go to the HAN port
        self.refusals = 0
        self.last_reject = None  # the last frame refused (diagnostics)
        self.state = IDLE
        self.t = ms()
        self._jitter = (self.eui & 7) * 64  # devices that started together do not retry together
        self.partners = {}  # eui -> (short or None until heard, application link key)
        self.on_peer = None  # firmware/han/partner.py: unsecured frames of other devices (CS03 method A)
        dl = store.get_json(DEVLOG_REC, None)
        logged = None if dl is None else [int(x[0], 16) for x in dl]
        for x in dl or ():  # partner link keys of CS03 method A joins
            if len(x) > 2:
                self.partners[int(x[0], 16)] = (None, hexb(x[2]))
        j = store.get_json(JOIN_REC, None)
        if j is not None:
            for k, v in (j.get("partners") or {}).items():
                e = int(k, 16)
                if logged is None or e in logged:  # a device with a device log: its entries only (CS04)
                    self.partners[e] = (int(v[0]), hexb(v[1]))
            self._network(j["pan"], j["short"], hexb(j["nwk"]), j["seq"])
            if j.get("tc_link"):
                self.tc_link = hexb(j["tc_link"])
                self.state = JOINED
            else:
                self._start_cbke()

    def forget(self, peer):
        """Drop partner `peer` (EUI-64 as int) and its link key: its frames are refused from now on
        (CS04 removed it from the device log, which the partners are loaded from at boot)."""
        self.partners.pop(peer, None)

    def _link_key(self, peer):
        if peer == self.tc:
            return self.tc_link
        p = self.partners.get(peer)
        return p[1] if p is not None else None

    def short_to(self, peer):
        """The short address frames to `peer` (the Trust Centre or a partner) go to."""
        if peer == self.tc:
            return self.coord
        return self.partners[peer][0]

    def linked(self, peer):
        """True when this device holds an APS link key with `peer` (and knows its short address)
        and is on the network."""
        if self.state != JOINED:
            return False
        if peer == self.tc:
            return True
        p = self.partners.get(peer)
        return p is not None and p[0] is not None

    def _network(self, pan, short, key, seq):
        from firmware.zigbee.secure import NwkSecurity

        lk = self.link
        lk.pan, lk.short = pan, short
        lk.nwk = NwkSecurity(self.store, self.eui, key, seq)
        self.nwk_key = key

    @property
    def joined(self):
        return self.state == JOINED

    # -- the loop --------------------------------------------------------------------------------
    def poll(self):
        for f in self.link.receive():
            try:
                self._frame(f)
            except Reject as e:
                self.link.dropped += 1
                self.last_reject = e
        now = self.ms()
        st = self.state
        if st == JOINED:
            return
        if st == CBKE:  # ZSE: wait >= 2 s for each answer (the peer announced its generate times)
            wait = CBKE_MS + self._jitter
        else:
            wait = REFUSED_MS if st == REFUSED else STEP_MS
        if st != IDLE and ticks_diff(now, self.t) < wait:
            return
        if st in (IDLE, SCAN, ASSOC, KEY, REFUSED):
            self._scan()
        elif st == CBKE:
            self._start_cbke()

    def _step(self, state):
        self.state = state
        self.t = self.ms()

    def _scan(self):
        lk = self.link
        lk.pan, lk.short, lk.nwk = 0xFFFF, None, None
        lk.send(mac.beacon_request(lk.mac_seq()))
        self._step(SCAN)

    def _frame(self, f):
        lk = self.link
        st = self.state
        if f.ftype == mac.BEACON:
            if st == SCAN and len(f.payload) == 15 and f.superframe & 0x8000:
                if int.from_bytes(f.payload[3:11], "little") == self.tc:
                    lk.pan, self.coord = f.src_pan, f.src
                    lk.send(mac.association_request(lk.mac_seq(), lk.pan, self.coord, self.eui))
                    self._step(ASSOC)
            return
        if f.ftype == mac.COMMAND:
            if (st == ASSOC and f.cmd == mac.CMD_ASSOC_RSP and f.dst_mode == mac.ADDR_EXT
                    and f.dst == self.eui and f.src == self.tc and f.dst_pan == lk.pan):
                short = f.payload[0] | (f.payload[1] << 8)
                if f.payload[2] != mac.ASSOC_SUCCESS:
                    self.refusals += 1
                    self._step(REFUSED)
                    return
                lk.short = short
                self._step(KEY)
            return
        if f.ftype != mac.DATA or lk.short is None or f.dst_pan != lk.pan:
            return
        if f.dst not in (lk.short, mac.BROADCAST):
            return
        if st == KEY:
            self._transport_key(f.payload)
            return
        if lk.nwk is None:
            return
        n = lk.nwk.open(f.payload)
        if not n.security:
            raise Reject("format", None, "NWK frame without security")
        src = n.aux.src
        if src != self.tc:
            p = self.partners.get(src)
            known = p is not None and (p[0] is None or n.src == p[0])
            if not known and self.on_peer is None:
                raise Reject("format", None, "NWK frame from neither the Trust Centre nor a partner")
            a = lk.aps.open(n.payload, src)  # a partner's link key; an unknown device's unsecured only
            if known and p[0] is None and a.security:  # a partner from the device log, first heard
                self.partners[src] = (n.src, p[1])
            if a.ftype == aps.ACK:
                if known and self.on_ack is not None:
                    self.on_ack(src, a)
            elif a.ftype == aps.DATA and a.security:
                if not known:
                    raise Reject("format", None, "partner frame from another short address")
                if st == JOINED and self.on_app is not None:
                    self.on_app(src, a)
            elif a.ftype == aps.DATA and self.on_peer is not None and st == JOINED:
                self.on_peer(src, n.src, a)
            elif not known:
                raise Reject("format", None, "frame from a device that is not a partner")
            return
        if n.src != self.coord:
            raise Reject("format", None, "NWK frame not from the Trust Centre")
        a = lk.aps.open(n.payload, self.tc)
        if a.ftype != aps.DATA:
            if a.ftype == aps.ACK and self.on_ack is not None:
                self.on_ack(self.tc, a)
            return
        if a.cluster == 0x0800 and not a.security:
            self._cbke_in(a.payload)
        elif self.on_app is not None and st == JOINED:
            self.on_app(self.tc, a)

    def _transport_key(self, raw):
        from firmware.zigbee import keytransport, nwk

        n = nwk.parse(raw)
        if n.security or n.src != self.coord or n.dst != self.link.short:
            raise Reject("format", None, "not the Transport-Key")
        last = None
        for key in (self.tc_link, self.ic_key):
            if key is None:
                continue
            try:
                nk, seq = keytransport.open_nwk_key(n.payload, key, self.tc, self.eui,
                                                    self.link.aps.inc)
                break
            except Reject as e:
                last = e
        else:
            raise last or Reject("key", None, "no key for the Transport-Key")
        lk = self.link
        self.store.put_json(JOIN_REC, {"pan": lk.pan, "short": lk.short, "nwk": _hex(nk),
                                       "seq": seq, "tc_link": ""})  # persisted, then used
        self.tc_link = None
        self._network(lk.pan, lk.short, nk, seq)
        annce = (bytes((lk.zcl_seq(),)) + lk.short.to_bytes(2, "little")
                 + self.eui.to_bytes(8, "little") + b"\x80")
        f = aps.ApsFrame(aps.DATA, lk.aps_counter(), dst_ep=0, cluster=0x0013,
                      profile=aps.PROFILE_ZDP, src_ep=0, payload=annce, delivery=aps.BROADCAST)
        lk.send_nwk(0xFFFD, aps.build(f))
        self._start_cbke()

    # -- key establishment (initiator) -----------------------------------------------------------
    def _start_cbke(self):
        from firmware.core.trust import identity
        from firmware.zigbee import cbke

        self.cbke = cbke.Initiator(self.eui, hexb(identity(self.store)["ka"]),
                                   {self.tc: self.tc_ka}, self._store_tc_link, rng=self.rng)
        self._cbke_seq = self.link.send_zcl(self.coord, cbke.CLUSTER, cbke.CMD_INITIATE,
                                            self.cbke.start(), zcl.TO_SERVER)
        self._step(CBKE)

    def _cbke_in(self, payload):
        from firmware.zigbee import cbke

        h, body = zcl.parse(payload)
        if (self.state != CBKE or h.direction != zcl.TO_CLIENT or h.ftype != zcl.CLUSTER
                or h.seq != self._cbke_seq):
            return
        u = self.cbke
        try:
            if h.cmd == cbke.CMD_TERMINATE:
                cbke.parse_terminate(body)
                self.cbke = None
                self.t = self.ms() - CBKE_MS - self._jitter  # start again at the next poll
                return
            if h.cmd == cbke.CMD_INITIATE:
                out = u.on_initiate_response(body, self.tc)
                cmd = cbke.CMD_EPHEMERAL
            elif h.cmd == cbke.CMD_EPHEMERAL:
                out = u.on_ephemeral_response(body)
                cmd = cbke.CMD_CONFIRM
            elif h.cmd == cbke.CMD_CONFIRM:
                u.on_confirm_response(body)  # stores the TC link key after MACV verifies
                self.cbke = None
                self._step(JOINED)
                return
            else:
                return
        except cbke.Terminate as e:
            self.link.send_zcl(self.coord, cbke.CLUSTER, cbke.CMD_TERMINATE,
                               cbke.terminate_payload(e.status), zcl.TO_SERVER)
            self.cbke = None
            return
        self._cbke_seq = self.link.send_zcl(self.coord, cbke.CLUSTER, cmd, out, zcl.TO_SERVER)
        self.t = self.ms()

    def _store_tc_link(self, peer, key):
        j = self.store.get_json(JOIN_REC, None)
        j["tc_link"] = _hex(key)
        self.store.put_json(JOIN_REC, j)  # one write; the key is used only after it
        self.tc_link = bytes(key)


def _hex(b):
    import binascii

    return binascii.hexlify(b).decode()


def attach(board, role, store):
    """The device's HAN node on board.radio() (firmware/app.py, when the store has "han")."""
    return Joiner(board.radio(), store, role.eui, board.ticks_ms)
