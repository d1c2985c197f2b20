"""The GBCS command gate: authentication, replay protection, the order of a command's effects and
response protection (GBCS §6.2.4 verification of commands, §4.3 key usage, §4.3.3 KDF;
shared/reference/gbcs.md §1, §3, §4, §6), for any device role.

    gate = Gate(device, trust, table, clock)
    response = gate.process(command)   # bytes in, bytes out; Reject (typed, with alert code) out

Order (gbcs.md §6 recommended): parse strictly -> CRA is command -> recipient is this device ->
originator is a known remote party -> MAC (device KA x ACB KA cell, KDF U=01) when there is a MAC
Header -> KRP signature with the originator's DS cell (mandatory for critical codes) -> originator
counter > last accepted for that party and >= the role floor -> persist the counter (write-ahead: a
power cut after it burns the command) -> execute (the role's dispatch table,
Table below) -> protected response. The counter check is skipped for the message
codes the table declares in `own_counters` (a service keeps those counters in its own space). A
rejection writes one entry to the GBCS security log, changes nothing else and raises
Reject(reason, alert code, detail) with a reason from firmware/core/reasons.py.

DLMS dispatch (Table, CommandContext; xDLMS ACCESS service, IEC 62056-5-3; GBCS §7.2 use-case content;
gbcs.md §7.1): a table keyed by (kind, class id, OBIS, attribute/method) with two gates per entry,
and the per-command CommandContext handlers work in.

    table = Table(own_counters, resolve)   # own_counters: message codes whose counters a service
                                           # keeps (not the gate); resolve: objects loaded on demand
    table.der = fn                         # fn(device, msg, party, log) answers non-DLMS (DER) content
    table.register(kind, class_id, obis6, ident, handler, signed=False, roles=None)
    table.add(cosem_row, handler, roles=None)
    content = table.execute(device, msg, party, log)   # the DLMS access-response bytes

A handler is called as handler(ctx, item) -> (result_code, data_item_or_None); `ctx` is the CommandContext:
ctx.device (the role object: its model, store, ...), ctx.msg (the parsed GBCS Message), ctx.party
(the originator's party role), ctx.request (the DLMS request), ctx.index (the item), and

    ctx.stage(key, value) / ctx.staged(key, default=None)   values shared by the items of one command
    ctx.after(fn)                                           fn(ctx) runs once, after every item

An entry registered with signed=True runs only for a KRP-signed command, and with roles=(...) only for
originators of those party roles; otherwise the item is answered with scope-of-access-violated (13)
and a security-log entry, so a MAC-only command cannot reach a critical object by borrowing a
non-critical message code (GBCS §6.2.4 authorisation). A handler's Reject answers other-reason
(250) and is logged; the command is still answered. Authentication, dispatch and response
protection are one module: the command path a device loads at boot (every module costs heap on a
port where bytecode lives there, docs/board-memory.md).

Response protection (respond()): a response to a critical command (KRP-signed, or a code in
codes.SIGNED_RESPONSE_EXTRA) is signed with the device DS key and carries no MAC Header; any other
is MAC'd with the device KA key x the recipient's KA cell (KDF U=02, GMAC 12 bytes). The Grouping
Header date-time is present for the codes in codes.RESPONSE_DATETIME (from the gate's clock:
default_clock(), or RTDS_CLOCK, the fixed time of the RTDS corpus); the supplementary remote party
fields are echoed.
"""
import hashlib
from firmware.compat import const
from firmware import alerts as A
from firmware.core import reasons as R
from firmware.core.trust import hexs as _h, DS, KA
from firmware.gbcs import frame, codes, dlms, parties as P
# The whole command path is imported when the gate loads (at boot), not on first use: on a port
# where bytecode lives on the heap, code loaded in the middle of a command would sit between that
# command's temporaries and leave the heap fragmented (measured: host_tools heaprun).
from firmware.crypto.gmac import gbcs_mac
from firmware.crypto.ct import equal

_DER_COMMAND_FAILED = const(b"\x02\x01\x03")  # ASN.1 INTEGER 3, as in the RTDS CS02c/d/e ERROR responses


class CommandContext:
    """The context of one command's DLMS items (see the module docstring)."""

    __slots__ = ("device", "msg", "party", "request", "index", "_staged", "_after")

    def __init__(self, device, msg, party, request):
        self.device = device
        self.msg = msg
        self.party = party
        self.request = request
        self.index = 0
        self._staged = None
        self._after = None

    def stage(self, key, value):
        """Keep `value` under `key` for the later items and after-actions of this command."""
        if self._staged is None:
            self._staged = {}
        self._staged[key] = value

    def staged(self, key, default=None):
        s = self._staged
        return default if s is None else s.get(key, default)

    def after(self, fn):
        """Run fn(ctx) once after all items of this command (registered once however often)."""
        if self._after is None:
            self._after = [fn]
        elif fn not in self._after:
            self._after.append(fn)


class Table:
    """DLMS dispatch table of one role. `own_counters`: message codes whose originator counters a
    service of the role checks and records itself (e.g. CS01a in the UTRN counter space, gbcs.md §6
    open points); the gate skips its command-counter check for them."""

    def __init__(self, own_counters=(), resolve=None):
        self._t = {}
        self.own_counters = own_counters
        # resolve(kind, class id, OBIS, ident) -> (handler, signed, roles) or None: objects whose
        # handlers a role loads on demand (not registered at boot); kind is the request's own
        # (GET_WITH_SELECTION for a selective GET: the handler reads ctx.request.selections)
        self.resolve = resolve
        # der(device, msg, party, log) -> response content: commands whose content is not a DLMS
        # access request (ASN.1 DER, GBCS §7.3 credential and device-management use cases)
        self.der = None

    def register(self, kind, class_id, obis6, ident, handler, signed=False, roles=None):
        self._t[(kind, class_id, bytes(obis6), ident)] = (handler, signed, roles)

    def add(self, obj, handler, roles=None):
        """Register a row of firmware.gbcs.cosem.OBJECTS: (kind, class id, OBIS, ident, critical);
        a critical object runs only for KRP-signed commands."""
        self.register(obj[0], obj[1], obj[2], obj[3], handler, obj[4], roles)

    def execute(self, device, m, party, log):
        """Run the command content; returns the response content (never raises for content)."""
        if not m.content or m.content[0] != dlms.TAG_REQUEST:
            if m.content and self.der is not None:
                return self.der(device, m, party, log)
            return _DER_COMMAND_FAILED
        try:
            req = dlms.parse_request(m.content)
        except A.Reject as e:
            log.append("dlms-format %04X from %s ctr %d %s" % (
                A.INTEGRITY_FAILED, _h(m.originator), m.counter, e.detail[:100]))
            return dlms.build_response((0x20000000 | (m.counter & 0xFFFFFF)), [])
        ctx = CommandContext(device, m, party, req)
        results = []
        for i in range(len(req.specs)):
            kind, cid, obis, ident = req.specs[i]
            rkind = dlms.GET if kind == dlms.GET_WITH_SELECTION else (
                dlms.SET if kind == dlms.SET_WITH_SELECTION else kind)
            e = self._t.get((rkind, cid, obis, ident))
            if e is None and self.resolve is not None:
                # the raw kind: a resolved object may serve a GET with an access selector
                e = self.resolve(kind, cid, obis, ident)
            elif kind >= dlms.GET_WITH_SELECTION:
                e = None
            if e is None:
                results.append((rkind, self._undefined(rkind, cid, obis), None))
                continue
            h, signed, roles = e
            if (signed and not m.signature) or (roles is not None and party not in roles):
                log.append("scope %04X from %s ctr %d code %04X item %d" % (
                    A.NO_AUTHORITY, _h(m.originator), m.counter, m.message_code, i))
                results.append((rkind, dlms.SCOPE_OF_ACCESS_VIOLATED, None))
                continue
            ctx.index = i
            try:
                rc, item = h(ctx, req.data[i])
            except A.Reject as e:
                log.append("handler %s %s" % (e.reason, e.detail[:100]))
                rc, item = dlms.OTHER_REASON, None
            results.append((rkind, rc, item))
        if ctx._after:
            # after-actions work from staged values: the parsed items go first (a multi-item SET
            # such as ECS03 holds kilobytes of them, the heap its one store write then needs)
            req.data = None
            for fn in ctx._after:
                fn(ctx)
        return dlms.build_response(req.invoke_id, results)

    def _undefined(self, kind, cid, obis):
        for k in self._t:
            if k[2] == obis:
                return dlms.OBJECT_CLASS_INCONSISTENT if k[1] != cid else (
                    dlms.READ_WRITE_DENIED if kind != dlms.ACTION else dlms.OBJECT_UNAVAILABLE)
        return dlms.OBJECT_UNDEFINED


# RTDS dummy time: 2015-01-01 00:00:00.00, day-of-week / deviation unspecified, status FF
RTDS_CLOCK = b"\x07\xDF\x01\x01\xFF\x00\x00\x00\x00\x80\x00\xFF"
# The GBCS security log (firmware/core/seclog.py: name seclog.GBCS, bound seclog.GBCS_SIZE), written
# here as a plain bounded log so the command path does not load the coalescing reader/writer.
_SECLOG = const("seclog")
_SECLOG_SIZE = const(64)


def default_clock():
    """Device clock as a 12-byte DLMS date-time (UTC, deviation unspecified)."""
    import time

    t = time.gmtime()
    y = t[0]
    return bytes((y >> 8, y & 0xFF, t[1], t[2], 0xFF, t[3], t[4], t[5], 0, 0x80, 0, 0xFF))


class Gate:
    """Authenticates and runs commands for `device` (the role object handlers see as ctx.device)
    with its Trust, dispatch Table and clock (default: the device clock); `log` is the GBCS
    security log of the trust's store."""

    def __init__(self, device, trust, table, clock=None):
        self.device = device
        self.trust = trust
        self.table = table
        self.log = trust.store.log(_SECLOG, _SECLOG_SIZE)
        self.clock = clock if clock is not None else default_clock

    def _reject(self, reason, code, detail, m=None):
        entry = "%s %04X" % (reason, code or 0)
        if m is not None:
            entry += " from %s ctr %d code %04X" % (_h(m.originator), m.counter, m.message_code)
        entry += " " + detail[:200]
        self.log.append(entry)
        return A.Reject(reason, code, detail)

    def authenticate(self, buf):
        """Run the checks up to (not including) the counter; return (msg, party role, critical)."""
        try:
            m = frame.parse(buf)
        except A.Reject as e:
            raise self._reject(e.reason, e.code, e.detail)
        t = self.trust
        if m.cra != frame.CRA_COMMAND:
            raise self._reject(R.NOT_COMMAND, A.INTEGRITY_FAILED, "CRA flag %d" % m.cra, m)
        if m.recipient != t.eui:
            raise self._reject(R.TARGET, A.UNAUTHORISED_ACCESS, "for %s" % _h(m.recipient), m)
        party = t.party_role(m.originator)
        if party is None:
            raise self._reject(R.ORIGINATOR, A.NO_AUTHORITY, "unknown remote party", m)
        code = m.message_code
        if m.signature is None:
            raise self._reject(R.UNSIGNED, A.AUTH_FAILED, "no signature field (pre-command)", m)
        if m.mac_header:
            acb = t.cell(P.ACB, KA)
            if acb is None:
                raise self._reject(R.NO_CELL, A.NO_AUTHORITY, "no ACB KA cell", m)
            tag = gbcs_mac(t.z(acb), m.originator, P.U_COMMAND, frame.u64(m.counter), m.recipient,
                           m.mac_aad(), 12)
            if not equal(tag, m.mac):
                raise self._reject(R.MAC, A.AUTH_FAILED, "MAC does not verify", m)
            need_sig = code in codes.SIGNATURE_REQUIRED
        else:
            if code not in codes.SIGNATURE_ONLY:
                raise self._reject(R.NO_MAC, A.AUTH_FAILED, "MAC Header missing", m)
            need_sig = True
        if need_sig and not m.signature:
            raise self._reject(R.SIGNATURE_MISSING, A.AUTH_FAILED, "critical command not signed", m)
        if m.signature:
            ds = t.party_cell(m.originator, DS)
            if ds is None:
                raise self._reject(R.NO_CELL, A.NO_AUTHORITY, "no DS cell for the originator", m)
            h = hashlib.sha256(bytes(m.signed())).digest()
            if not t.verify(ds, h, m.signature):
                raise self._reject(R.SIGNATURE, A.AUTH_FAILED, "KRP signature does not verify", m)
        critical = bool(m.signature) or code in codes.SIGNED_RESPONSE_EXTRA
        if not critical and t.party_cell(m.originator, KA) is None:
            raise self._reject(R.NO_CELL, A.NO_AUTHORITY, "no KA cell to answer the originator", m)
        return m, party, critical

    def process(self, buf):
        """Authenticate, check and persist the counter, execute, answer (bytes)."""
        m, party, critical = self.authenticate(buf)
        t = self.trust
        if m.message_code not in self.table.own_counters:
            ctr = t.counter(party, m.originator)
            if m.counter <= ctr.value:
                raise self._reject(R.REPLAY, A.UNUSUAL_COMMANDS,
                                   "counter %d <= last accepted %d" % (m.counter, ctr.value), m)
            if m.counter < t.floor(party):
                raise self._reject(R.FLOOR, A.UNUSUAL_COMMANDS, "counter below the role floor", m)
            ctr.advance_to(m.counter)  # write-ahead: a power cut now burns the command
        content = self.table.execute(self.device, m, party, self.log)
        return respond(t, m, content, critical, self.clock)


def respond(trust, m, content, critical, clock):
    """The protected response bytes to command `m` with DLMS `content` (see the module docstring)."""
    r = frame.Message(cra=frame.CRA_RESPONSE, counter=m.counter, originator=trust.eui,
                      recipient=m.originator, message_code=m.message_code, content=content)
    if m.message_code in codes.RESPONSE_DATETIME:
        r.date_time = clock()
    r.supp_remote_id = m.supp_remote_id
    r.supp_remote_counter = m.supp_remote_counter
    r.supp_orig_counter = m.supp_orig_counter
    if critical:
        r.mac_header = False
        r.signature = None
        body, _ = frame.build_grouping(r)
        r.signature = trust.sign(hashlib.sha256(body[1:]).digest())
        return frame.build(r)
    r.mac_header = True
    r.signature = b""
    frame.build(r)
    ka = trust.party_cell(m.originator, KA)
    return frame.set_mac(r, gbcs_mac(trust.z(ka), trust.eui, P.U_RESPONSE, frame.u64(m.counter),
                                     m.originator, r.mac_aad(), 12))
