"""GBZ: the ZigBee (ZCL) payload of gas use cases, the Grouping Header content of GBCS messages whose
content is not DLMS (GBCS §7.2.10 "GBZ use case specific component"; layout byte by byte in
shared/reference/gas.md §1). Used by the GSME role and by host tools.

    msg = gbz.parse(content)                 # Gbz: .components [Component], alert fields for alerts
    content = gbz.build(msg)                 # byte-exact inverse of parse
    c = gbz.Component(cluster, fc, seq, cmd, payload, fdt=None)   # ctl last bit set by build()

Header: profile 0x0109 (big-endian), component count, then for alerts the alert code (2, BE) and
time stamp (4, BE, seconds since 2000-01-01 UTC) before the body. A component is an extended header
(control: bit0 last, bit1 encrypted, bit4 From Date Time; cluster 2 BE; length 2 BE), then the 4-byte
From Date Time (bit4) or the additional header control and frame counter (bit1), then the ZCL frame
(frame control, sequence number, command id, payload). Everything inside the ZCL frame is little-
endian (ZigBee order). An encrypted component's payload is `clen(2 BE) | 31 00000000 | ciphertext |
tag(12)`, AES-128-GCM under the GBCS KDF key with U=04 and IV = originator || 00000000, AAD 31: the
same IV for every encrypted component of one message (as RTDS has it).

Alert bodies (gas.md §1.7): components, except message code 0x00CD (future-dated command executed:
per record a length byte then message code, originator counter, cluster, frame control, command
id), 0x00CF (a DLMS-style octet string of the image hash) and 0x00F2 (uint16 other-information).

ZCL helpers: le / le_bytes (little-endian integers), reply_fc (the frame control of a reply), seal
(an encrypted component's block). Read Attributes payloads and response records, decryption and the
failure pattern of a device-failed command are in firmware/gbcs/gbzinfo.py (the valve's command path
does not load them: every name a module adds costs the heap, docs/board-memory.md). Parse errors
raise Reject("format", INTEGRITY_FAILED, "GBZ n") with n the check that failed: 1 component header
truncated, 2 unknown control bits, 3 encrypted with a From Date Time, 4 last-component bit not on
the last component only, 5 component length beyond the content, 6 From Date Time truncated, 7
additional header truncated, 8 ZCL header truncated, 9 encrypted block malformed, 10 profile is not
0x0109, 11 alert header truncated, 12 future-dated record truncated, 13 bytes after the last
component (numbers, not texts: every distinct text a device module holds costs heap).
"""
from firmware.alerts import Reject, INTEGRITY_FAILED
from firmware.compat import const

_PROFILE = const(0x0109)
_LAST = const(0x01)
_ENCRYPTED = const(0x02)
_FROM_DATE_TIME = const(0x10)

# ZCL frame control values seen in GBZ (ZCL §2.4.1.1)
_FC_GLOBAL_C2S = const(0x00)
_FC_CLUSTER_C2S = const(0x01)
_FC_GLOBAL_S2C = const(0x08)
_FC_CLUSTER_S2C = const(0x09)
_FC_NO_DEFAULT = const(0x10)

# global commands (ZCL §2.5); Read Attributes (0x00) and its response (0x01): firmware/gbcs/gbzinfo.py
_DEFAULT_RESPONSE = const(0x0B)

# ZCL status (ZCL §2.6.3)
_SUCCESS = const(0x00)
_FAILURE = const(0x01)
_NOT_FOUND = const(0x8B)
_HARDWARE_FAILURE = const(0xC0)

# message codes whose alert body is not a component list
_ALERT_FUTURE_DATED = const(0x00CD)
_ALERT_FIRMWARE = const(0x00CF)
_ALERT_INTEGRITY = const(0x00F2)


def bad(n):
    """Reject("format", 0x8F1E, "GBZ n"): n the check that failed (module docstring)."""
    return Reject("format", INTEGRITY_FAILED, "GBZ %d" % n)


class Component:
    """One use-case-specific component: the ZCL frame (fc, seq, cmd, payload) of `cluster`, with the
    From Date Time `fdt` (int seconds since 2000, or None) or, encrypted, the additional header
    (`ah_ctl`, `ah_ctr`) and `payload` the encrypted block (clen | 31 00000000 | c | tag)."""

    __slots__ = ("cluster", "fc", "seq", "cmd", "payload", "fdt", "encrypted", "ah_ctl", "ah_ctr")

    def __init__(self, cluster, fc, seq, cmd, payload=b"", fdt=None, encrypted=False, ah_ctl=0, ah_ctr=0):
        self.cluster = cluster
        self.fc = fc
        self.seq = seq
        self.cmd = cmd
        self.payload = payload
        self.fdt = fdt
        self.encrypted = encrypted
        self.ah_ctl = ah_ctl
        self.ah_ctr = ah_ctr


class Gbz:
    """A parsed GBZ payload: `components`; for alerts `alert` (code), `time` and, for the alert
    message codes with their own body, `records` (0x00CD: [bytes]) or `body` (0x00CF, 0x00F2)."""

    __slots__ = ("components", "alert", "time", "records", "body", "count")

    def __init__(self, components=None, alert=None, time=0):
        self.components = components if components is not None else []
        self.alert = alert
        self.time = time
        self.records = None
        self.body = None
        self.count = None


def _u(b, p, n):
    return int.from_bytes(b[p:p + n], "big")


def _components(b, p, end, n):
    out = []
    for i in range(n):
        if end - p < 5:
            raise bad(1)
        ctl = b[p]
        if ctl & ~(_LAST | _ENCRYPTED | _FROM_DATE_TIME):
            raise bad(2)
        if ctl & _ENCRYPTED and ctl & _FROM_DATE_TIME:
            raise bad(3)
        if bool(ctl & _LAST) != (i == n - 1):
            raise bad(4)
        cl = _u(b, p + 1, 2)
        ln = _u(b, p + 3, 2)
        p += 5
        q = p + ln
        if q > end:
            raise bad(5)
        c = Component(cl, 0, 0, 0)
        if ctl & _FROM_DATE_TIME:
            if ln < 4:
                raise bad(6)
            c.fdt = _u(b, p, 4)
            p += 4
        if ctl & _ENCRYPTED:
            if ln < 2:
                raise bad(7)
            c.encrypted = True
            c.ah_ctl = b[p]
            c.ah_ctr = b[p + 1]
            p += 2
        if q - p < 3:
            raise bad(8)
        c.fc = b[p]
        c.seq = b[p + 1]
        c.cmd = b[p + 2]
        c.payload = bytes(b[p + 3:q])
        if c.encrypted:
            pl = c.payload
            if len(pl) < 2 + 5 + 12 or _u(pl, 0, 2) != len(pl) - 2 or pl[2] != 0x31:
                raise bad(9)
        out.append(c)
        p = q
    return out, p


def parse(content, message_code=None, alert=False):
    """Gbz of GBZ `content`; `alert`: the content of an alert (the 6-byte alert header follows the
    count; `message_code` selects the alert body)."""
    b = content
    end = len(b)
    if end < 3 or _u(b, 0, 2) != _PROFILE:
        raise bad(10)
    n = b[2]
    p = 3
    g = Gbz()
    if alert:
        if end < 9:
            raise bad(11)
        g.alert = _u(b, 3, 2)
        g.time = _u(b, 5, 4)
        g.count = n
        p = 9
        if message_code == _ALERT_FUTURE_DATED:
            g.records = []
            for _ in range(n):
                if p >= end or p + 1 + b[p] > end:
                    raise bad(12)
                g.records.append(bytes(b[p + 1:p + 1 + b[p]]))
                p += 1 + b[p]
        elif message_code in (_ALERT_FIRMWARE, _ALERT_INTEGRITY):
            g.body = bytes(b[p:])
            p = end
        else:
            g.components, p = _components(b, p, end, n)
    else:
        g.components, p = _components(b, p, end, n)
    if p != end:
        raise bad(13)
    return g


def build(g):
    """GBZ content bytes of Gbz `g` (the last-component bit set on the last component only)."""
    out = bytearray(b"\x01\x09")
    comps = g.components
    if g.alert is not None:
        n = g.count if g.count is not None else (
            len(g.records) if g.records is not None else (1 if g.body else len(comps)))
        out.append(n)
        out += g.alert.to_bytes(2, "big")
        out += g.time.to_bytes(4, "big")
        if g.records is not None:
            for r in g.records:
                out.append(len(r))
                out += r
            return bytes(out)
        if g.body is not None:
            out += g.body
            return bytes(out)
    else:
        out.append(len(comps))
    n = len(comps)
    for i in range(n):
        out += component(comps[i], i == n - 1)
    return bytes(out)


def component(c, last):
    """The bytes of Component `c` (extended header and ZCL frame)."""
    ctl = _LAST if last else 0
    opt = b""
    if c.fdt is not None:
        ctl |= _FROM_DATE_TIME
        opt = c.fdt.to_bytes(4, "big")
    if c.encrypted:
        ctl |= _ENCRYPTED
        opt = bytes((c.ah_ctl, c.ah_ctr))
    ln = len(opt) + 3 + len(c.payload)
    return bytes((ctl, c.cluster >> 8, c.cluster & 0xFF, ln >> 8, ln & 0xFF)) + opt + bytes(
        (c.fc, c.seq, c.cmd)) + bytes(c.payload)


# -- ZCL payloads -----------------------------------------------------------------------------------
def le(b, p, n):
    """Unsigned little-endian integer of b[p:p+n]."""
    v = 0
    for i in range(n - 1, -1, -1):
        v = (v << 8) | b[p + i]
    return v


def le_bytes(v, n):
    return bytes((v >> (8 * i)) & 0xFF for i in range(n))


def reply_fc(fc, cluster_specific):
    """Frame control of the reply to a command with frame control `fc`: the opposite direction."""
    d = 0 if fc & 0x08 else 0x08
    return d | (1 if cluster_specific else 0)


# -- encrypted components ----------------------------------------------------------------------------
def seal(key16, originator8, plaintext):
    """The encrypted block of a component: clen | 31 00000000 | AES-GCM(plaintext) | tag(12), IV =
    originator || 00000000, AAD 31."""
    from firmware.crypto import gcm

    c, tag = gcm.encrypt(key16, bytes(originator8) + b"\x00\x00\x00\x00", bytes(plaintext), b"\x31", 12)
    n = 5 + len(c) + 12
    return bytes((n >> 8, n & 0xFF, 0x31, 0, 0, 0, 0)) + c + tag
