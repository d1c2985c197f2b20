"""The Comms Hub on the HAN: PAN coordinator and centralised Trust Centre (IEEE 802.15.4-2006
§7.5.3 association; ZigBee spec 4.6.3.2 joining through the Trust Centre; ZSE Key Establishment
0x0800; GB rules of the CHF Device Log, shared/reference/han.md §5).

    hub = Coordinator(radio, chf_role, store, ms=board.ticks_ms)
    hub.poll()                   # from the application's loop: reads the radio, answers, never blocks

Join decision: a beacon request is answered with a beacon (association permitted). An
association request is decided by the CHF's Device Log (`role.may_join`): a device in the log
inside its join window is given a short address and then the network key in an APS
Transport-Key under the key-transport key of its install-code link key (or of the historic / TC
link key the log returns); any other joiner gets status PAN_ACCESS_DENIED (0x02) and the log
writes and alerts the refusal (once per device per REFUSE_MS: a repeating joiner that is still not
in the log is answered from RAM and not logged again). The device then runs CBKE (P-256 deviation, firmware/zigbee/cbke.py)
with the hub as responder, NWK-secured; the TC link key is stored in the Device Log
(`devlog.joined`) only after the device's MACU verifies.

Security order on receipt (docs/han.md §2): MAC parse -> NWK parse -> replay check -> MIC ->
counter persisted -> APS (same order with the link key) -> act. Anything refused is counted in
`link.dropped` and changes nothing. Outgoing NWK and APS frame counters are reserved write-ahead
(firmware/zigbee/counters.py), so no counter is reused across a power cut.

Application traffic (ZSE Tunneling, GBCS) is not this module's: APS data frames other than Key
Establishment from a joined device go to `on_app(eui, aps_frame)` when set (the APS security of
the frame is verified first; `aps_frame.security` says whether it was APS-secured).
"""
from firmware.alerts import Reject
from firmware.compat import const, ticks_diff
from firmware.han.node import CFG_REC, Link, eui_bytes, eui_int, hexb
from firmware.zigbee import aps, mac, nwk, zcl

HUB_REC = const("han_hub")  # {"nwk": network key hex, "seq": key sequence} (made once, kept)
REFUSE_MS = const(30000)
SESSION_MS = const(60000)  # an unfinished join is forgotten after this
DEFAULT_PAN = const(0x1A62)
ZDO_ANNCE = const(0x0013)


class Coordinator:
    def __init__(self, radio, role, store, ms, cfg=None, rng=None):
        from firmware.zigbee.secure import ApsSecurity, NwkSecurity

        self.role = role
        self.store = store
        self.ms = ms
        self.rng = rng
        cfg = cfg if cfg is not None else (store.get_json(CFG_REC, None) or {})
        self.eui = eui_int(role.eui)
        self.link = lk = Link(radio, self.eui, cfg.get("pan", DEFAULT_PAN))
        lk.short = 0x0000
        self.peers = {}
        for k, v in (cfg.get("peers") or {}).items():
            self.peers[int(k, 16)] = hexb(v)
        rec = store.get_json(HUB_REC, None)
        if rec is None:  # the network key is made once and persisted before any use
            import os

            rec = {"nwk": _hex((rng or os.urandom)(16)), "seq": 0}
            store.put_json(HUB_REC, rec)
        self.nwk_key = hexb(rec["nwk"])
        self.key_seq = rec["seq"]
        lk.nwk = NwkSecurity(store, self.eui, self.nwk_key, self.key_seq)
        lk.aps = ApsSecurity(store, self.eui, self._link_key)
        self.sessions = {}  # eui -> [short, cbke Responder or None, started ms]
        self.shorts = {}  # short -> eui of devices given an address
        self.refused = {}  # eui -> ms of the last logged refusal
        self.joins = 0
        self.refusals = 0
        self.on_app = None
        self.on_ack = None  # APS acks (of fragmented application data) go to the HAN port
        self.on_joined = None  # callback(eui) after a TC link key is stored
        for e in role.devlog.euis():  # the same short addresses after a restart
            self.short_of(eui_int(e))

    # -- keys and addresses ----------------------------------------------------------------------
    def _link_key(self, eui):
        return self.role.devlog.link_key(eui_bytes(eui))

    def short_of(self, eui):
        """A stable short address for eui (from its EUI-64, collisions probed)."""
        return short_for(eui, self.shorts)

    def eui_of(self, short):
        return self.shorts.get(short)

    # -- the loop --------------------------------------------------------------------------------
    def poll(self):
        for f in self.link.receive():
            try:
                self._frame(f)
            except Reject:
                self.link.dropped += 1
        now = self.ms()
        for eui in [e for e, s in self.sessions.items() if ticks_diff(now, s[2]) > SESSION_MS]:
            del self.sessions[eui]

    def _frame(self, f):
        lk = self.link
        if f.ftype == mac.COMMAND:
            if f.cmd == mac.CMD_BEACON_REQ:
                lk.send(mac.beacon(lk.mac_seq(), lk.pan, 0x0000, self.eui))
            elif (f.cmd == mac.CMD_ASSOC_REQ and f.src_mode == mac.ADDR_EXT
                  and f.dst_pan == lk.pan and f.dst == 0x0000):
                self._associate(f.src)
            return
        if f.ftype != mac.DATA or f.dst_pan != lk.pan or f.dst not in (0x0000, mac.BROADCAST):
            return
        n = lk.nwk.open(f.payload)  # parse, replay, MIC, counter persisted
        if not n.security:
            raise Reject("format", None, "NWK frame without security")
        eui = n.aux.src
        if self.shorts.get(n.src) != eui or n.ftype != nwk.DATA:
            raise Reject("format", None, "NWK source not a device this hub addressed")
        a = lk.aps.open(n.payload, eui)
        if a.ftype != aps.DATA:
            if a.ftype == aps.ACK and self.on_ack is not None:
                self.on_ack(eui, a)
            return
        if a.profile == aps.PROFILE_ZDP:
            return  # Device_annce and other ZDO: nothing to do for a star network
        if a.cluster == 0x0800 and not a.security:
            self._cbke(eui, n.src, a.payload)
        elif self.on_app is not None and self._link_key(eui) is not None:
            self.on_app(eui, a)

    def _associate(self, eui):
        from firmware.zigbee import keytransport

        lk = self.link
        now = self.ms()
        t = self.refused.get(eui)
        if (t is not None and ticks_diff(now, t) < REFUSE_MS
                and self.role.devlog.find(eui_bytes(eui)) is None):
            key = None  # refused and logged a moment ago, still not in the log
        else:
            key = self.role.may_join(eui_bytes(eui))[1]
            if key is None:
                if len(self.refused) >= 64:
                    self.refused.clear()
                self.refused[eui] = now
        if key is None:
            self.refusals += 1
            lk.send(mac.association_response(lk.mac_seq(), lk.pan, eui, self.eui, 0xFFFF,
                                             mac.ASSOC_ACCESS_DENIED))
            return
        short = self.short_of(eui)
        lk.send(mac.association_response(lk.mac_seq(), lk.pan, eui, self.eui, short,
                                         mac.ASSOC_SUCCESS))
        tk = keytransport.seal_nwk_key(key, self.nwk_key, self.key_seq, self.eui, eui,
                                       lk.aps_counter(), lk.aps.out.next())
        lk.send_nwk(short, tk, secure=False, radius=1)
        self.sessions[eui] = [short, None, now]

    def _cbke(self, eui, short, payload):
        from firmware.zigbee import cbke

        h, body = zcl.parse(payload)
        if h.direction != zcl.TO_SERVER or h.ftype != zcl.CLUSTER:
            return
        s = self.sessions.get(eui)
        if s is None:  # a repeated key establishment (a lost answer): only a logged device
            if self.role.devlog.find(eui_bytes(eui)) is None:
                raise Reject("format", None, "key establishment from a device not in the log")
            s = self.sessions[eui] = [short, None, self.ms()]
        try:
            if h.cmd == cbke.CMD_INITIATE:
                s[1] = None
                r = cbke.Responder(self.eui, self._ka(), self.peers,
                                   lambda peer, key: self._store(peer, key), rng=self.rng)
                rsp = r.on_initiate_request(body, eui)
                s[1] = r
            elif s[1] is None:
                raise cbke.Terminate(cbke.BAD_MESSAGE, "no key establishment running")
            elif h.cmd == cbke.CMD_EPHEMERAL:
                rsp = s[1].on_ephemeral_request(body)
            elif h.cmd == cbke.CMD_CONFIRM:
                rsp = s[1].on_confirm_request(body)
            elif h.cmd == cbke.CMD_TERMINATE:
                s[1] = None
                return
            else:
                return
        except cbke.Terminate as e:
            s[1] = None
            self.link.send_zcl(short, cbke.CLUSTER, cbke.CMD_TERMINATE,
                               cbke.terminate_payload(e.status), zcl.TO_CLIENT, seq=h.seq)
            return
        self.link.send_zcl(short, cbke.CLUSTER, h.cmd, rsp, zcl.TO_CLIENT, seq=h.seq)
        if h.cmd == cbke.CMD_CONFIRM:
            del self.sessions[eui]

    def _store(self, eui, key):
        """TC link key of eui, after its MACU verified: into the Device Log (one store write).
        The log's record is rebuilt whole (1.5 KB with 16 devices): collect first, so a heap
        fragmented by the joins still has the contiguous block."""
        import gc

        gc.collect()
        if not self.role.devlog.joined(eui_bytes(eui), key, self.role.now()):
            raise Reject("format", None, "joined device no longer in the Device Log")
        self.joins += 1
        if self.on_joined is not None:
            self.on_joined(eui)

    def _ka(self):
        from firmware.core.trust import identity

        return hexb(identity(self.store)["ka"])


def short_for(eui, shorts):
    """The short address the hub gives `eui` (an int): the one in `shorts` {short: eui} already,
    else one derived from the EUI-64 (collisions probed upwards), added to `shorts`. The hub gives
    its Device Log's devices their addresses in log order at boot (firmware/han/preset.py computes
    the same ahead)."""
    for s, e in shorts.items():
        if e == eui:
            return s
    s = (eui ^ (eui >> 16) ^ (eui >> 32) ^ (eui >> 48)) & 0xFFFF
    while s in (0x0000,) or s >= 0xFFF8 or (s in shorts and shorts[s] != eui):
        s = (s + 1) & 0xFFFF
    shorts[s] = eui
    return s


def _hex(b):
    import binascii

    return binascii.hexlify(b).decode()


def attach(board, role, store):
    """The hub's HAN node on board.radio() (firmware/app.py calls this when the store has a
    "han" record)."""
    return Coordinator(board.radio(), role, store, board.ticks_ms)
