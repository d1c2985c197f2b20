"""The Comms Hub Function role (GBCS §4.3.1 device types; CHF use cases in
shared/reference/usecases.md, Device Log rules in shared/reference/han.md §5): the GBCS secure core
(firmware/core: trust state, command gate, response protection) composed with the hub model
(firmware/hub: the CHF Device Log and Historic Device Log, join windows, CS14 alerts, the hub's
DLMS logs and objects) and the core's credential management for its DER use cases (CS02a, CS02b).

    role = build(board, store, table_dir)        # as firmware.roles.build("chf", ...) does
    response = role.process(command)             # Reject (typed, with alert code) when refused
    decision, key = role.may_join(eui, now)      # the HAN layer asks before admitting a device
    role.alerts()                                # pending alerts as GBCS messages (not yet sent)

The hub's clock is the one it is given (board.time: epoch seconds; a virtual clock in tests), used
for join windows, log entries and alert time stamps. Device Log capacity: 16 (store record
"chf_cfg" {"capacity": n, "historic": n} configures both).
"""
from firmware.core.trust import Trust
from firmware.core.gate import Gate, Table
from firmware.hub import devicelog, handlers

CFG_REC = "chf_cfg"


class Chf:
    """CHF role object (interface: firmware/roles/__init__.py). `devlog` is its DeviceLog, `table`
    its dispatch table, `gate` its command gate, `seclog` its GBCS security log."""

    name = "chf"
    ident = "SMLAB-CHF"
    model = None  # no restricted optical meter view
    acceptor = None  # no UTRN entry on a hub
    # remote party roles whose trust anchor cells the hub holds (firmware/core/credentials.py): a
    # meter's, and the WAN provider's (RTDS CS02bWPByWP replaces its DS cell on the CHF)
    anchor_roles = (0, 1, 2, 3, 4, 5, 6, 8)

    def __init__(self, store, time_fn, table_dir=None):
        self.store = store
        self.now = time_fn
        self.trust = t = Trust(store, table_dir)
        self.eui = t.eui
        cfg = store.get_json(CFG_REC, None) or {}
        self.devlog = devicelog.DeviceLog(store, cfg.get("capacity", devicelog.CAPACITY),
                                          cfg.get("historic", devicelog.HISTORIC), pan=t.eui,
                                          on_event=self._event)
        self.table = tb = Table((), handlers.resolve)
        tb.der = _der
        self.gate = g = Gate(self, t, tb, self._dlms_now)
        self.seclog = g.log
        self.process = g.process

    def _dlms_now(self):
        from firmware.hub.alerts import dlms_datetime

        return dlms_datetime(self.now())

    def _event(self, code, now, detail, security):
        from firmware.hub import logs

        logs.append(self.store, logs.SECURITY if security else logs.EVENT, now - logs.EPOCH_2000, code,
                    detail)

    def may_join(self, eui, now=None):
        """(decision, key) for a device asking to join (firmware.hub.devicelog.DeviceLog.may_join)."""
        return self.devlog.may_join(eui, self.now() if now is None else now)

    def alerts(self):
        """The pending alerts as GBCS messages to the ACB (each build advances the hub's durable
        alert counter; DeviceLog.delivered(n) drops them once sent)."""
        from firmware.hub import alerts

        return [alerts.build(self.trust, self.store, c, t, p) for c, t, p in self.devlog.pending()]

    def hht_anchor(self, issuer):
        """No HHT logs in to the hub over an optical port."""
        return None

    def poll(self, now):
        """Nothing periodic yet (join windows are checked when a device asks)."""
        return None


_CS02B = (0x0100, 0x0101, 0x0102, 0x0103, 0x0104, 0x0105, 0x0106, 0x0107, 0x0108)


def _der(device, msg, party, log):
    """DER content: the secure core's credential management (firmware/core/credentials.py, loaded
    on demand): CS02a/f trust anchor details, CS02b trust anchor replacement."""
    code = msg.message_code
    if code in (0x0008, 0x011B):
        from firmware.core.credentials import provide_details as fn
    elif code in _CS02B:
        from firmware.core.credentials import update as fn
    else:
        log.append("der unknown code %04X ctr %d" % (code, msg.counter))
        return b"\x02\x01\x03"
    from firmware.alerts import Reject

    try:
        return fn(device, msg, party, log)
    except Reject as e:
        if e.code is not None:
            raise
        log.append("der %s %s" % (e.reason, e.detail[:100]))
        return b"\x02\x01\x03"


def build(board, store, table_dir=None):
    """The CHF of `store`, its clock board.time."""
    return Chf(store, board.time, table_dir)
