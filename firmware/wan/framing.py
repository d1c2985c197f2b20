"""Framing of raw GBCS messages on the hub's WAN byte stream (docs/wan.md §1): the
project's length-prefixed frames, and the text lines of DCC's GFI test tool.

Binary frame: 2-byte big-endian length N, then N bytes.
    N = 0           keep-alive, ignored
    N = 2           a refusal: the 2-byte GBCS alert code (hub -> client only; a GBCS message is
                    never 2 bytes long)
    3 <= N <= MAX   one GBCS message (command from the client; response or alert from the hub)
    N > MAX         refused (alert 0x8F1E) and the connection is closed: a stream cannot be
                    resynchronised after a length it will not buffer
GFI text line (DCC's "GFI segmented processing" format, as a public GB Comms Hub emulator converts
it): `GBCS:DATA#<segment>:<N decimal>:<2N hex digits>\r\n`. A client that sends this form is
answered in it (segment 0); a 2-byte payload is again an alert code. The first byte tells the two
apart: 'G' (0x47) would be a binary length of 18,176 or more, beyond MAX.

    d = Deframer()
    d.feed(bytes)                 # what the socket gave
    d.next() -> (GFI or BINARY, message bytes) or None; Reject(FORMAT, 0x8F1E) on a bad frame
    binary(msg) / gfi(msg) / encode(kind, msg) -> bytes to send
"""
from firmware.alerts import Reject
from firmware.compat import const

MAX_MESSAGE = const(4096)  # bytes of one GBCS message (a WAN frame's payload)
MAX_LINE = const(8224)  # a GFI line: 2 * MAX_MESSAGE hex digits + its header
BINARY = const(0)
GFI = const(1)
INTEGRITY = const(0x8F1E)  # integrity check of content or format of command failed
_PREFIX = b"GBCS:DATA#"


def binary(msg):
    n = len(msg)
    return bytes((n >> 8, n & 0xFF)) + bytes(msg)


def gfi(msg):
    import binascii

    return _PREFIX + b"0:" + str(len(msg)).encode() + b":" + binascii.hexlify(bytes(msg)).upper() + b"\r\n"


def encode(kind, msg):
    return gfi(msg) if kind == GFI else binary(msg)


def alert(kind, code):
    """A refusal frame carrying the 2-byte alert code."""
    return encode(kind, bytes((code >> 8, code & 0xFF)))


def _digits(b):
    if not b or len(b) > 5:
        return -1
    for c in b:
        if c < 0x30 or c > 0x39:
            return -1
    return int(b)


def parse_gfi(line):
    """The GBCS message of one GFI line (with or without its CR LF); Reject on anything else."""
    import binascii

    line = bytes(line).rstrip(b"\r\n")
    if not line.startswith(_PREFIX):
        raise Reject("format", INTEGRITY, "GFI line prefix")
    f = line[len(_PREFIX):].split(b":")
    if len(f) != 3 or _digits(f[0]) < 0:
        raise Reject("format", INTEGRITY, "GFI line fields")
    n = _digits(f[1])
    if n < 0 or n > MAX_MESSAGE or len(f[2]) != 2 * n:
        raise Reject("format", INTEGRITY, "GFI length %r for %d hex digits" % (f[1][:8], len(f[2])))
    try:
        return binascii.unhexlify(f[2])
    except ValueError:
        raise Reject("format", INTEGRITY, "GFI hex digits")


class Deframer:
    """Splits a byte stream into messages (see the module docstring). Holds at most one frame."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        if len(self.buf) > MAX_LINE + 2:
            self.buf = b""
            raise Reject("format", INTEGRITY, "WAN frame longer than %d bytes" % MAX_LINE)

    def next(self):
        b = self.buf
        while len(b) >= 2 and b[0] == 0 and b[1] == 0:  # keep-alives
            b = b[2:]
        self.buf = b
        if not b:
            return None
        if b[0] == 0x47:  # 'G': a GFI text line
            i = b.find(b"\n")
            if i < 0:
                if len(b) > MAX_LINE:
                    self.buf = b""
                    raise Reject("format", INTEGRITY, "GFI line longer than %d" % MAX_LINE)
                return None
            self.buf = b[i + 1:]
            return GFI, parse_gfi(b[:i + 1])
        if len(b) < 2:
            return None
        n = (b[0] << 8) | b[1]
        if n > MAX_MESSAGE:
            self.buf = b""
            raise Reject("format", INTEGRITY, "WAN frame of %d bytes (max %d)" % (n, MAX_MESSAGE))
        if len(b) < 2 + n:
            return None
        self.buf = b[2 + n:]
        return BINARY, b[2:2 + n]
