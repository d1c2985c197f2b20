"""ESME secure command processing: the GBCS authentication pipeline, DLMS dispatch and response
building (GBCS §6.2.4 / §6.3.3 / §4.3.3; shared/reference/gbcs.md §3, §4, §6, §7).

    esme = Esme(store)                 # identity, keys, cells, counters from the store
    response = esme.process(command)   # bytes in, bytes out; Reject (typed, with alert code) out

Pipeline (gbcs.md §6 recommended order): parse strictly -> CRA is command -> recipient is this
device -> originator is a known remote party -> MAC (device KA x ACB KA cell, KDF U=01) when there is
a MAC Header -> KRP signature with the originator's DS cell (mandatory for critical codes) ->
originator counter > last accepted for that party and >= the role floor -> persist counter ->
execute (DLMS dispatch table) -> response (device-signed for critical commands, else MAC'd with the
device KA key x the recipient's KA cell, KDF U=02). A rejection writes one security-log entry,
changes nothing else and raises Reject(reason, alert code, detail).

DLMS dispatch: a table keyed by (kind, class id, OBIS, attribute/method). Other modules add entries
with register(kind, ...) / register_action (e.g. the UTRN engine registers CS01a on
class 115 0-0:19.40.0.255 method 1). A handler is called as handler(ctx, item) and returns
(result_code, data_item_or_None); ctx has .esme, .msg (the parsed GBCS Message), .role (the
originator's role), .request (the DLMS Request), .index and a dict .state shared by the handlers of
one request. An entry registered with signed=True runs only for a KRP-signed command, and with
roles=(...) only for originators of those roles; otherwise the item is answered with
scope-of-access-violated (13) and a security-log entry, so a MAC-only command cannot reach a
critical object by borrowing a non-critical message code.
"""
import hashlib
from firmware.compat import const
from firmware.alerts import Reject, INTEGRITY_FAILED, NO_AUTHORITY, AUTH_FAILED, \
    UNAUTHORISED_ACCESS, UNUSUAL_COMMANDS
from firmware.gbcs import frame, dlms, codes
from firmware.core.trust import Trust, DS, KA
from firmware.gbcs.parties import ACB, SUPPLIER
from firmware.meter.model import MeterModel
# The whole command path is imported when the ESME module loads (at boot), not on first use: on a
# port where bytecode lives on the heap, code loaded in the middle of a command would sit between
# that command's temporaries and leave the heap fragmented (measured: host_tools/boards/heaprun.py).
from firmware.crypto.gmac import gbcs_mac
from firmware.crypto.ct import equal

# RTDS dummy time: 2015-01-01 00:00:00.00, day-of-week / deviation unspecified, status FF
RTDS_CLOCK = b"\x07\xDF\x01\x01\xFF\x00\x00\x00\x00\x80\x00\xFF"

OBIS_LOAD_SWITCH_SCRIPTS = b"\x00\x00\x0A\x00\x6A\xFF"  # 0-0:10.0.106.255, class 9
OBIS_DISCONNECT_CONTROL = b"\x00\x00\x60\x03\x0A\xFF"  # 0-0:96.3.10.255, class 70
OBIS_ACCOUNT = b"\x00\x01\x13\x00\x00\xFF"  # 0-1:19.0.0.255, class 111
OBIS_DISABLEMENT_THRESHOLD = b"\x00\x00\x5E\x2C\x80\x16"  # 0-0:94.44.128.22, class 9000
SCRIPT_CLOSE = const(51)
SCRIPT_OPEN = const(52)
SCRIPT_ARM = const(54)
_DER_COMMAND_FAILED = b"\x02\x01\x03"  # ASN.1 INTEGER 3, as in the RTDS CS02c/d/e ERROR responses
_LOG_ENTRIES = const(64)


def default_clock():
    """Device clock as a 12-byte DLMS date-time (UTC, deviation unspecified)."""
    import time

    t = time.gmtime()
    y = t[0]
    return bytes((y >> 8, y & 0xFF, t[1], t[2], 0xFF, t[3], t[4], t[5], 0, 0x80, 0, 0xFF))


def _h(b):
    import binascii

    return binascii.hexlify(b).decode()


class Context:
    __slots__ = ("esme", "msg", "role", "request", "index", "state")

    def __init__(self, esme, msg, role, request):
        self.esme = esme
        self.msg = msg
        self.role = role
        self.request = request
        self.index = 0
        self.state = {}


def _is_now(dt):
    """GBCS 'now' date-time: date and time fields all zero (00…00 80 00 FF)."""
    for i in range(9):
        if dt[i] != 0:
            return False
    return True


def _is_never(dt):
    """GBCS 'never' date-time: date and time fields all FF (FF…FF 80 00 FF); cancels a
    future-dated change."""
    for i in range(9):
        if dt[i] != 0xFF:
            return False
    return True


class Esme:
    def __init__(self, store, clock=None, model=None, table_dir=None):
        self.store = store
        self.sec = Trust(store, table_dir)
        self.model = model if model is not None else MeterModel(store)
        self.clock = clock if clock is not None else default_clock
        self.seclog = store.log("seclog", _LOG_ENTRIES)
        self._table = {}
        self._register_defaults()

    # ------------------------------------------------------------------ dispatch table
    def register(self, kind, class_id, obis6, ident, handler, signed=False, roles=None):
        self._table[(kind, class_id, bytes(obis6), ident)] = (handler, signed, roles)

    def register_action(self, class_id, obis6, method, handler, signed=False, roles=None):
        self.register(dlms.ACTION, class_id, obis6, method, handler, signed, roles)

    def _register_defaults(self):
        sup = (SUPPLIER,)
        self.register_action(9, OBIS_LOAD_SWITCH_SCRIPTS, 1, _load_switch, True, sup)
        get, set_ = dlms.GET, dlms.SET
        self.register(get, 70, OBIS_DISCONNECT_CONTROL, 2, _output_state)
        self.register(get, 70, OBIS_DISCONNECT_CONTROL, 3, _control_state)
        for attr, h in ((2, _set_account_mode), (11, _set_credit_charge_config),
                        (13, _set_account_activation)):
            self.register(set_, 111, OBIS_ACCOUNT, attr, h, True, sup)
        self.register(set_, 9000, OBIS_DISABLEMENT_THRESHOLD, 4, _set_disablement_threshold, True, sup)
        self.register(set_, 9000, OBIS_DISABLEMENT_THRESHOLD, 6, _set_threshold_activation, True, sup)

    # ------------------------------------------------------------------ pipeline
    def _reject(self, reason, code, detail, m=None):
        entry = "%s %04X" % (reason, code or 0)
        if m is not None:
            entry += " from %s ctr %d code %04X" % (_h(m.originator), m.counter, m.message_code)
        entry += " " + detail[:200]
        self.seclog.append(entry)
        return Reject(reason, code, detail)

    def authenticate(self, buf):
        """Run the checks up to (not including) the counter; return (msg, role, critical)."""
        try:
            m = frame.parse(buf)
        except Reject as e:
            raise self._reject(e.reason, e.code, e.detail)
        sec = self.sec
        if m.cra != frame.CRA_COMMAND:
            raise self._reject("not-command", INTEGRITY_FAILED, "CRA flag %d" % m.cra, m)
        if m.recipient != sec.eui:
            raise self._reject("target", UNAUTHORISED_ACCESS, "for %s" % _h(m.recipient), m)
        role = sec.party_role(m.originator)
        if role is None:
            raise self._reject("originator", NO_AUTHORITY, "unknown remote party", m)
        code = m.message_code
        if m.signature is None:
            raise self._reject("unsigned", AUTH_FAILED, "no signature field (pre-command)", m)
        if m.mac_header:
            acb = sec.cell(ACB, KA)
            if acb is None:
                raise self._reject("no-cell", NO_AUTHORITY, "no ACB KA cell", m)
            tag = gbcs_mac(sec.z(acb), m.originator, 1, frame.u64(m.counter), m.recipient,
                           m.mac_aad(), 12)
            if not equal(tag, m.mac):
                raise self._reject("mac", AUTH_FAILED, "MAC does not verify", m)
            need_sig = code in codes.SIGNATURE_REQUIRED
        else:
            if code not in codes.SIGNATURE_ONLY:
                raise self._reject("no-mac", AUTH_FAILED, "MAC Header missing", m)
            need_sig = True
        if need_sig and not m.signature:
            raise self._reject("signature-missing", AUTH_FAILED, "critical command not signed", m)
        if m.signature:
            ds = sec.party_cell(m.originator, DS)
            if ds is None:
                raise self._reject("no-cell", NO_AUTHORITY, "no DS cell for the originator", m)
            h = hashlib.sha256(bytes(m.signed())).digest()
            if not sec.verify(ds, h, m.signature):
                raise self._reject("signature", AUTH_FAILED, "KRP signature does not verify", m)
        critical = bool(m.signature) or code in codes.SIGNED_RESPONSE_EXTRA
        if not critical and sec.party_cell(m.originator, KA) is None:
            raise self._reject("no-cell", NO_AUTHORITY, "no KA cell to answer the originator", m)
        return m, role, critical

    def process(self, buf):
        """Authenticate, check and persist the counter, execute, answer (bytes)."""
        m, role, critical = self.authenticate(buf)
        if m.message_code not in codes.UTRN_CODES:
            ctr = self.sec.counter(role, m.originator)
            if m.counter <= ctr.value:
                raise self._reject("replay", UNUSUAL_COMMANDS,
                                   "counter %d <= last accepted %d" % (m.counter, ctr.value), m)
            if m.counter < self.sec.floor(role):
                raise self._reject("floor", UNUSUAL_COMMANDS, "counter below the role floor", m)
            ctr.advance_to(m.counter)  # write-ahead: a power cut now burns the command
        content = self.execute(m, role)
        return self.respond(m, content, critical)

    # ------------------------------------------------------------------ execution
    def execute(self, m, role):
        """Run the command content; returns the response content (never raises for content)."""
        if not m.content or m.content[0] != dlms.TAG_REQUEST:
            return _DER_COMMAND_FAILED
        try:
            req = dlms.parse_request(m.content)
        except Reject as e:
            self.seclog.append("dlms-format %04X from %s ctr %d %s" % (
                INTEGRITY_FAILED, _h(m.originator), m.counter, e.detail[:100]))
            return dlms.build_response((0x20000000 | (m.counter & 0xFFFFFF)), [])
        ctx = Context(self, m, role, req)
        results = []
        for i in range(len(req.specs)):
            kind, cid, obis, ident = req.specs[i]
            rkind = dlms.GET if kind == dlms.GET_WITH_SELECTION else (
                dlms.SET if kind == dlms.SET_WITH_SELECTION else kind)
            e = self._table.get((rkind, cid, obis, ident))
            if e is None or kind >= dlms.GET_WITH_SELECTION:
                results.append((rkind, self._undefined(rkind, cid, obis), None))
                continue
            h, signed, roles = e
            if (signed and not m.signature) or (roles is not None and role not in roles):
                self.seclog.append("scope %04X from %s ctr %d code %04X item %d" % (
                    NO_AUTHORITY, _h(m.originator), m.counter, m.message_code, i))
                results.append((rkind, dlms.SCOPE_OF_ACCESS_VIOLATED, None))
                continue
            ctx.index = i
            try:
                rc, item = h(ctx, req.data[i])
            except Reject as e:
                self.seclog.append("handler %s %s" % (e.reason, e.detail[:100]))
                rc, item = dlms.OTHER_REASON, None
            results.append((rkind, rc, item))
        after = ctx.state.get("_after")
        if after:
            for fn in after:
                fn(ctx)
        return dlms.build_response(req.invoke_id, results)

    def _undefined(self, kind, cid, obis):
        for k in self._table:
            if k[2] == obis:
                return dlms.OBJECT_CLASS_INCONSISTENT if k[1] != cid else (
                    dlms.READ_WRITE_DENIED if kind != dlms.ACTION else dlms.OBJECT_UNAVAILABLE)
        return dlms.OBJECT_UNDEFINED

    # ------------------------------------------------------------------ responses
    def respond(self, m, content, critical):
        sec = self.sec
        r = frame.Message(cra=frame.CRA_RESPONSE, counter=m.counter, originator=sec.eui,
                          recipient=m.originator, message_code=m.message_code, content=content)
        if m.message_code in codes.RESPONSE_DATETIME:
            r.date_time = self.clock()
        r.supp_remote_id = m.supp_remote_id
        r.supp_remote_counter = m.supp_remote_counter
        r.supp_orig_counter = m.supp_orig_counter
        if critical:
            r.mac_header = False
            r.signature = None
            body, _ = frame.build_grouping(r)
            h = hashlib.sha256(body[1:]).digest()
            r.signature = sec.sign(h)
            return frame.build(r)
        r.mac_header = True
        r.signature = b""
        frame.build(r)
        ka = sec.party_cell(m.originator, KA)
        return frame.set_mac(r, gbcs_mac(sec.z(ka), sec.eui, 2, frame.u64(m.counter), m.originator,
                                         r.mac_aad(), 12))


# ---------------------------------------------------------------------- default handlers
def _load_switch(ctx, item):
    """ECS42/43/44: script table execute with a long-unsigned script selector."""
    if item[0] != dlms.LONG_UNSIGNED:
        return dlms.TYPE_UNMATCHED, None
    model = ctx.esme.model
    sel = item[1]
    if sel == SCRIPT_CLOSE:
        model.connect()
    elif sel == SCRIPT_OPEN:
        model.disconnect()
    elif sel == SCRIPT_ARM:
        model.arm()
    else:
        return dlms.OBJECT_UNDEFINED, None
    return dlms.SUCCESS, None


def _output_state(ctx, item):
    return dlms.SUCCESS, (dlms.BOOLEAN, ctx.esme.model.supply == "connected")


def _control_state(ctx, item):
    """ECS45: IC 70 control_state enum (0 disconnected, 1 connected, 2 ready for reconnection)."""
    return dlms.SUCCESS, (dlms.ENUM, ctx.esme.model.control_state)


def _after(ctx, fn):
    lst = ctx.state.get("_after")
    if lst is None:
        lst = ctx.state["_after"] = []
    if fn not in lst:
        lst.append(fn)


def _stage(ctx, key, value):
    """Stage an account change of this request; _apply_account writes them all at once."""
    acc = ctx.state.get("account")
    if acc is None:
        acc = ctx.state["account"] = {}
    acc[key] = value
    _after(ctx, _apply_account)


def _apply_account(ctx):
    """After all SETs of one request: apply the staged account changes and the payment mode (now,
    or scheduled by its activation date-time) in one model write."""
    st = ctx.state
    acc = st.get("account") or {}
    mode = st.get("mode")
    now = None
    if mode is not None:
        at = st.get("activation")
        if at is None or _is_now(at):
            now = mode
            acc["pending_mode"] = None  # applied now: any scheduled change is void
        elif _is_never(at):
            acc["pending_mode"] = None
        else:
            acc["pending_mode"] = {"mode": mode, "at": _h(at)}
    ctx.esme.model.update(acc, now)


def _set_account_mode(ctx, item):
    """IC 111 attribute 2 account_mode_and_status: structure {enum payment mode, enum status}."""
    if item[0] != dlms.STRUCTURE or len(item[1]) != 2 or item[1][0][0] != dlms.ENUM \
            or item[1][1][0] != dlms.ENUM:
        return dlms.TYPE_UNMATCHED, None
    mode = item[1][0][1]
    if mode == 1:
        ctx.state["mode"] = "credit"
    elif mode == 2:
        ctx.state["mode"] = "prepayment"
    else:
        return dlms.OTHER_REASON, None
    _after(ctx, _apply_account)
    return dlms.SUCCESS, None


def _set_credit_charge_config(ctx, item):
    """IC 111 attribute 11: array of {credit OBIS, charge OBIS, collection bit-string}."""
    if item[0] != dlms.ARRAY:
        return dlms.TYPE_UNMATCHED, None
    cfg = []
    for e in item[1]:
        if e[0] != dlms.STRUCTURE or len(e[1]) != 3:
            return dlms.TYPE_UNMATCHED, None
        a, b, c = e[1]
        if a[0] != dlms.OCTET_STRING or len(a[1]) != 6 or b[0] != dlms.OCTET_STRING \
                or len(b[1]) != 6 or c[0] != dlms.BIT_STRING:
            return dlms.TYPE_UNMATCHED, None
        cfg.append([_h(a[1]), _h(b[1]), c[1][0], _h(c[1][1])])
    _stage(ctx, "credit_charge_configuration", cfg)
    return dlms.SUCCESS, None


def _date_time_item(item):
    return item[0] == dlms.OCTET_STRING and len(item[1]) == 12


def _set_account_activation(ctx, item):
    if not _date_time_item(item):
        return dlms.TYPE_UNMATCHED, None
    ctx.state["activation"] = item[1]
    _after(ctx, _apply_account)
    return dlms.SUCCESS, None


def _set_disablement_threshold(ctx, item):
    if item[0] != dlms.DOUBLE_LONG:
        return dlms.TYPE_UNMATCHED, None
    _stage(ctx, "disablement_threshold_passive", item[1])
    return dlms.SUCCESS, None


def _set_threshold_activation(ctx, item):
    if not _date_time_item(item):
        return dlms.TYPE_UNMATCHED, None
    _stage(ctx, "disablement_threshold_activation", _h(item[1]))
    return dlms.SUCCESS, None
