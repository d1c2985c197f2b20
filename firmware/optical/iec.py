"""IEC 62056-21 (ex IEC 61107) mode C framing: BCC, message builders and a byte-wise receiver.

Spec reference: IEC 62056-21 §6.3 (messages), §6.4 (BCC, timing) as summarised in
shared/reference/optical.md §1.2-§1.5. The receiver is fed one byte at a time with a millisecond
tick so it can enforce the inter-character gap (ta < 1500 ms) and hard length limits; anything it
cannot parse becomes an event the session answers with NAK, an error message or silence, never an
exception.

Messages (HHU -> meter) recognised by Receiver.feed():

    /?[address]!CRLF              -> ("request", address)
    ACK V Z Y CRLF                -> ("option", V, Z, Y)          (one ASCII char each)
    NAK                           -> ("nak",)
    SOH C D [STX data] ETX BCC    -> ("cmd", C+D, data, False)    (data without the STX)
    SOH C D [STX data] EOT BCC    -> ("cmd", C+D, data, True)     (partial block)
    STX data ETX BCC              -> ("data", data)
    bad BCC                       -> ("badbcc",)                  (the meter answers NAK)
    over-long / malformed         -> ("malformed", reason)       (error reply or silence)

A '/' can only start a request: IEC 62056-21 §6.3 forbids it inside data sets and command data,
so it abandons whatever message was half-received (a stray STX or SOH would otherwise hold the
receiver in a message until the 1500 ms gap, which a terminal repeating its sign-on request every
second never leaves) and starts parsing the request. Only a BCC byte, which may take any value, is
taken as a BCC.

Event kinds (EV_*) and the reasons of "malformed" events (M_*) are the constants below; the
session compares against them, never against free text.

The line is 7E1: bytes are masked to 7 bits (a UART set to 7E1 strips the parity bit; on a pty the
HHU sends plain 7-bit ASCII).
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.optical import reasons

SOH = const(0x01)
STX = const(0x02)
ETX = const(0x03)
EOT = const(0x04)
ACK = const(0x06)
NAK = const(0x15)
CR = const(0x0D)
LF = const(0x0A)
CRLF = b"\r\n"

# limits (optical.md §1.2, §1.3); programming-mode data may be longer: the login answer and
# pass-through GBCS commands are hex strings (docs/optical-port.md "Limits")
MAX_ADDRESS = const(32)  # device address in the request
MAX_DS_ADDRESS = const(16)  # data-set address
MAX_DS_VALUE = const(128)  # data-set value in programming mode (32 in readout)
MAX_DS_UNIT = const(16)
MAX_FRAME_DATA = const(1100)  # data field of one programming command (STX..ETX exclusive)
INTER_CHAR_MS = const(1500)  # ta: a longer gap abandons the message being received

BAUD_CHARS = "0123456"
BAUD_RATES = (300, 600, 1200, 2400, 4800, 9600, 19200)


def bcc(data, start=0):
    """Block check character: XOR of `data` (everything after the first SOH/STX up to and
    including the ETX/EOT), 7-bit."""
    x = start
    for c in data:
        x ^= c
    return x & 0x7F


def baud_rate(ch):
    """Baud rate for a mode C baud character ('0'..'6'); Reject for anything else."""
    i = BAUD_CHARS.find(ch) if isinstance(ch, str) and len(ch) == 1 else -1
    if i < 0:
        raise Reject(reasons.FORMAT, None, "baud char %r" % (ch,))
    return BAUD_RATES[i]


def _b(x):
    return x.encode() if isinstance(x, str) else bytes(x)


# -- builders ----------------------------------------------------------------------------------
def request(address=""):
    return b"/?" + _b(address) + b"!" + CRLF


def identification(manufacturer, baud_char, ident):
    """`/XXXZ<ident>CRLF`: 3-letter manufacturer id (lower-case third letter = 20 ms reaction),
    baud character, identification (<= 16 chars)."""
    m = _b(manufacturer)
    i = _b(ident)
    if len(m) != 3 or len(i) > 16 or len(_b(baud_char)) != 1:
        raise Reject(reasons.FORMAT, None, "identification fields")
    return b"/" + m + _b(baud_char) + i + CRLF


def option_select(v, z, y):
    return bytes((ACK,)) + _b(v) + _b(z) + _b(y) + CRLF


def command(cmd, data=None, partial=False):
    """Programming command `SOH C D [STX data] ETX|EOT BCC`; `data` without the STX."""
    body = _b(cmd)
    if data is not None:
        body += bytes((STX,)) + _b(data)
    body += bytes((EOT if partial else ETX,))
    return bytes((SOH,)) + body + bytes((bcc(body),))


def data_message(data, partial=False):
    """`STX data ETX|EOT BCC` (data message, R1 answer, error message)."""
    body = _b(data) + bytes((EOT if partial else ETX,))
    return bytes((STX,)) + body + bytes((bcc(body),))


def error_message(text):
    """`STX (text) ETX BCC`; text <= 32 chars, by convention starting with "ER"."""
    t = _b(text)
    if len(t) > 32:
        raise Reject(reasons.FORMAT, None, "error text too long")
    return data_message(b"(" + t + b")")


def readout(lines):
    """Data readout `STX <lines, each CRLF> ! CRLF ETX BCC`; each line <= 78 chars."""
    out = b""
    for ln in lines:
        ln = _b(ln)
        if len(ln) > 78:
            raise Reject(reasons.FORMAT, None, "readout line too long")
        out += ln + CRLF
    return data_message(out + b"!" + CRLF)


def _check_chars(s, bad, limit, what):
    if len(s) > limit:
        raise Reject(reasons.FORMAT, None, "%s longer than %d" % (what, limit))
    for c in s:
        if c < 0x20 or c > 0x7E or c in bad:
            raise Reject(reasons.FORMAT, None, "%s char 0x%02x" % (what, c))


_BAD_ADDR = b"()/!"
_BAD_VALUE = b"()*/!"


def data_set(address, value, unit=None, value_limit=32):
    """`address(value[*unit])` with the character and length rules of optical.md §1.3."""
    a = _b(address)
    v = _b(value)
    _check_chars(a, _BAD_ADDR, MAX_DS_ADDRESS, "address")
    _check_chars(v, _BAD_VALUE, value_limit, "value")
    if v.count(b".") > 1 and value_limit <= 32:
        raise Reject(reasons.FORMAT, None, "value with more than one '.'")
    out = a + b"(" + v
    if unit:
        u = _b(unit)
        _check_chars(u, _BAD_VALUE, MAX_DS_UNIT, "unit")
        out += b"*" + u
    return out + b")"


def parse_data_set(b, value_limit=MAX_DS_VALUE):
    """(address, value, unit) strings of one data set `address(value[*unit])`; Reject on any
    deviation (missing brackets, forbidden characters, over-long fields, trailing bytes)."""
    b = bytes(b)
    i = b.find(b"(")
    if i < 0 or not b.endswith(b")") or b.count(b"(") != 1 or b.count(b")") != 1:
        raise Reject(reasons.FORMAT, None, "data set brackets")
    a = b[:i]
    inner = b[i + 1:-1]
    unit = b""
    j = inner.find(b"*")
    if j >= 0:
        unit = inner[j + 1:]
        inner = inner[:j]
        _check_chars(unit, _BAD_VALUE, MAX_DS_UNIT, "unit")
    _check_chars(a, _BAD_ADDR, MAX_DS_ADDRESS, "address")
    _check_chars(inner, _BAD_VALUE, value_limit, "value")
    return a.decode(), inner.decode(), unit.decode()


# -- receiver ----------------------------------------------------------------------------------
EV_REQUEST = "request"
EV_OPTION = "option"
EV_NAK = "nak"
EV_CMD = "cmd"
EV_DATA = "data"
EV_BADBCC = "badbcc"
EV_MALFORMED = "malformed"
EVENTS = (EV_REQUEST, EV_OPTION, EV_NAK, EV_CMD, EV_DATA, EV_BADBCC, EV_MALFORMED)

M_REQUEST = "request"
M_ADDRESS_CHAR = "request address char"
M_ADDRESS_LONG = "request address too long"
M_REQUEST_END = "request end"
M_OPTION_CHAR = "option char"
M_OPTION_END = "option end"
M_COMMAND_LETTER = "command letter"
M_COMMAND_TYPE = "command type"
M_NO_STX = "command without STX"
M_CONTROL = "control char in data"
M_DATA_LONG = "data too long"
TOO_LONG = (M_ADDRESS_LONG, M_DATA_LONG)  # answered "field too long" in a session

_R_IDLE = const(0)
_R_REQ = const(1)  # after '/'
_R_REQ_ADDR = const(2)  # after '/?'
_R_REQ_LF = const(3)  # after '!' ... CR
_R_OPT = const(4)  # after ACK
_R_CMD = const(5)  # after SOH: command letters
_R_DATA = const(6)  # inside STX .. ETX/EOT
_R_BCC = const(7)  # expecting the BCC


class Receiver:
    """Byte-wise parser of HHU -> meter messages. feed(byte, now_ms) returns an event tuple when
    a message completes (or fails), else None. Never raises on line input."""

    def __init__(self, max_data=MAX_FRAME_DATA):
        self.max_data = max_data
        self.reset()
        self._last = None

    def reset(self):
        self._st = _R_IDLE
        self._buf = bytearray()
        self._cmd = b""
        self._has_stx = False
        self._x = 0
        self._end = 0

    def busy(self):
        return self._st != _R_IDLE

    def gap_expired(self, now_ms):
        """Abandon a half-received message after more than ta (1500 ms) of silence."""
        from firmware.compat import ticks_diff

        if self._st != _R_IDLE and self._last is not None and \
                ticks_diff(now_ms, self._last) > INTER_CHAR_MS:
            self.reset()
            return True
        return False

    def feed(self, byte, now_ms=0):
        self.gap_expired(now_ms)
        self._last = now_ms
        c = byte & 0x7F
        st = self._st
        if c == 0x2F and st != _R_IDLE and st != _R_BCC:  # '/': a request restarts the parse
            self.reset()
            self._st = _R_REQ
            return None
        if st == _R_IDLE:
            if c == 0x2F:  # '/'
                self._st = _R_REQ
            elif c == SOH:
                self._st = _R_CMD
                self._buf = bytearray()
                self._x = 0
                self._has_stx = False
            elif c == STX:
                self._st = _R_DATA
                self._buf = bytearray()
                self._x = 0
                self._cmd = b""
                self._has_stx = True
            elif c == ACK:
                self._st = _R_OPT
                self._buf = bytearray()
            elif c == NAK:
                return (EV_NAK,)
            return None  # anything else between messages is line noise: ignored
        if st == _R_REQ:
            if c == 0x3F:  # '?'
                self._st = _R_REQ_ADDR
                self._buf = bytearray()
                return None
            return self._bad(M_REQUEST)
        if st == _R_REQ_ADDR:
            if c == 0x21:  # '!'
                self._st = _R_REQ_LF
                self._end = 0
                return None
            if not (0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A or c == 0x20):
                return self._bad(M_ADDRESS_CHAR)
            if len(self._buf) >= MAX_ADDRESS:
                return self._bad(M_ADDRESS_LONG)
            self._buf.append(c)
            return None
        if st == _R_REQ_LF:
            if self._end == 0 and c == CR:
                self._end = 1
                return None
            if self._end == 1 and c == LF:
                addr = bytes(self._buf).decode()
                self.reset()
                return (EV_REQUEST, addr)
            return self._bad(M_REQUEST_END)
        if st == _R_OPT:
            self._buf.append(c)
            n = len(self._buf)
            if n <= 3:
                if c < 0x30 or c > 0x39:
                    return self._bad(M_OPTION_CHAR)
                return None
            if n == 4 and c == CR:
                return None
            if n == 5 and c == LF:
                b = bytes(self._buf)
                self.reset()
                return (EV_OPTION, chr(b[0]), chr(b[1]), chr(b[2]))
            return self._bad(M_OPTION_END)
        if st == _R_CMD:
            self._x ^= c
            if len(self._cmd) < 2 and len(self._buf) == 0:
                # command letter then type digit
                if len(self._cmd) == 0:
                    if not 0x41 <= c <= 0x5A:
                        return self._bad(M_COMMAND_LETTER)
                    self._cmd = bytes((c,))
                    return None
                if not 0x30 <= c <= 0x39:
                    return self._bad(M_COMMAND_TYPE)
                self._cmd += bytes((c,))
                return None
            if c == STX and not self._has_stx:
                self._has_stx = True
                self._st = _R_DATA
                return None
            if c == ETX or c == EOT:
                self._end = c
                self._st = _R_BCC
                return None
            return self._bad(M_NO_STX)
        if st == _R_DATA:
            self._x ^= c
            if c == ETX or c == EOT:
                self._end = c
                self._st = _R_BCC
                return None
            if c == SOH or c == STX:
                return self._bad(M_CONTROL)
            if len(self._buf) >= self.max_data:
                return self._bad(M_DATA_LONG)
            self._buf.append(c)
            return None
        # _R_BCC
        want = self._x & 0x7F
        cmd = self._cmd
        data = bytes(self._buf) if self._has_stx else None
        partial = self._end == EOT
        self.reset()
        if c != want:
            if c == 0x2F:  # not this message's BCC: the start of a request
                self._st = _R_REQ
            return (EV_BADBCC,)
        if cmd:
            return (EV_CMD, cmd.decode(), data, partial)
        return (EV_DATA, data, partial)

    def _bad(self, reason):
        self.reset()
        return (EV_MALFORMED, reason)
