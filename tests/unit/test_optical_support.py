"""Shared helpers for the optical-port unit tests (no tests here): an in-memory byte stream, a
settable clock, a scratch durable store, HHT credentials signed with real P-256 keys."""
# Run alone by tests/mprun.py it only compiles its imports from source; at 96K that compile had no
# margin (a 4-character change in a docstring of durable.py made it fail), and the modules that use
# it declare 160K/256K for the same reason (docs/optical-port.md "Memory").
MP_HEAPSIZE = "160K"
from firmware.store.durable import Store  # first: large modules compile best on a fresh heap
import binascii
import hashlib
import os

from firmware.core import seclog
from firmware.optical import auth, iec

METER_EUI = binascii.unhexlify("00DB1234567890A0")
OTHER_EUI = binascii.unhexlify("00DB1234567890A1")
SUPPLIER_EUI = binascii.unhexlify("90B3D51F30010000")
SUPPLIER2_EUI = binascii.unhexlify("90B3D51F30030000")
HHT_ID = binascii.unhexlify("48485400000000A7")
T0 = 1800000000  # RTC seconds at the start of every scenario


def _d(label):
    return hashlib.sha256(b"smlab optical test key " + label).digest()


SUP_D = _d(b"supplier")
SUP2_D = _d(b"supplier2")
HHT_D = _d(b"hht")
_pubs = {}


def pub(d):
    """Public key (SEC1 uncompressed) of a test private key, computed once."""
    if d not in _pubs:
        from firmware.crypto import p256

        _pubs[d] = p256.public_key(d)
    return _pubs[d]


def sign(d, h):
    from firmware.crypto import p256

    return p256.sign(d, h)


class MemStream:
    """Byte stream with the UART interface (read/write/any/set_baud) for the port under test."""

    def __init__(self):
        self.rx = bytearray()
        self.tx = bytearray()
        self.bauds = []

    def any(self):
        return len(self.rx)

    def read(self, n):
        b = bytes(self.rx[:n])
        self.rx = self.rx[n:]
        return b

    def write(self, b):
        self.tx += b
        return len(b)

    def set_baud(self, rate):
        self.bauds.append(rate)

    def take(self):
        b = bytes(self.tx)
        self.tx = bytearray()
        return b


class Clock:
    def __init__(self, t=T0):
        self.ms = 1000
        self.t = t

    def ticks_ms(self):
        return self.ms

    def time(self):
        return self.t

    def advance(self, ms):
        self.ms += ms
        self.t += ms // 1000


_n = [0]


def scratch_dir():
    _n[0] += 1
    p = "/tmp/smlab-optical-%s-%d" % (binascii.hexlify(os.urandom(4)).decode(), _n[0])
    os.mkdir(p)
    return p


def rmtree(p):
    for name in os.listdir(p):
        os.remove(p + "/" + name)
    os.rmdir(p)


def store_at(p):
    s = Store(p)
    s.boot()
    return s


def anchors(issuer):
    return pub(SUP_D) if issuer == SUPPLIER_EUI else None


def credential(perms=auth.PERM_READ | auth.PERM_PASS, scope=None, not_after=0, issuer=SUPPLIER_EUI,
               signer=SUP_D, hht_pub=None, hht_id=HHT_ID):
    hht_pub = pub(HHT_D) if hht_pub is None else hht_pub
    tbs = auth.encode_credential(hht_id, METER_EUI if scope is None else scope, not_after, perms,
                                 issuer, hht_pub[1:])
    return tbs + sign(signer, auth.cert_hash(tbs))


def p2_answer(nonce, cred=None, hht_d=HHT_D, meter=METER_EUI, hht_id=HHT_ID):
    cred = credential() if cred is None else cred
    return cred + sign(hht_d, auth.login_hash(nonce, meter, hht_id))


def challenge_of(frame):
    """The nonce bytes of a meter P0 frame."""
    assert frame[:4] == b"\x01P0\x02", frame
    assert frame[-2] == iec.ETX and iec.bcc(frame[1:-1]) == frame[-1]
    return binascii.unhexlify(frame[5:-3])


def unframe(frame):
    """Data of one STX..ETX BCC message, checking its BCC."""
    assert frame[0] == iec.STX and frame[-2] == iec.ETX, frame
    assert iec.bcc(frame[1:-1]) == frame[-1], frame
    return frame[1:-2]


def replies(out):
    """Split what the meter wrote into messages, checking each is well formed (ACK, NAK,
    identification line, or an SOH/STX frame with a correct BCC)."""
    msgs = []
    i = 0
    while i < len(out):
        c = out[i]
        if c in (iec.ACK, iec.NAK):
            j = i + 1
        elif c == 0x2F:
            j = out.index(b"\r\n", i) + 2
        else:
            assert c in (iec.STX, iec.SOH), out
            k = i + 1
            while out[k] not in (iec.ETX, iec.EOT):
                k += 1
            j = k + 2
            assert iec.bcc(out[i + 1:k + 1]) == out[k + 1], out
        msgs.append(out[i:j])
        i = j
    return msgs


class Meter:
    """A meter's optical side on a scratch store: model, view, port; reboot() keeps the store.
    esme_factory(store) -> Esme: pass-through to its pipeline, its model; anchors: login trust."""

    def __init__(self, root=None, clock=None, eui=METER_EUI, esme_factory=None, anchors=anchors):
        from firmware.meter.model import MeterModel
        from firmware.optical.port import OpticalPort
        from firmware.optical.restricted import MeterView

        self.root = root or scratch_dir()
        self.clock = clock or Clock()
        self.eui = eui
        self.esme_factory = esme_factory
        self.anchors = anchors
        self.stream = MemStream()
        self.store = store_at(self.root)
        self.esme = esme_factory(self.store) if esme_factory else None
        self.model = self.esme.model if self.esme else MeterModel(self.store)
        self.shown = []
        self.view = MeterView(self.store, eui, self.clock, self.model,
                              registers=lambda: [("1.8.0", "0001234.567", "kWh"),
                                                 ("2.8.0", "0000012.000", "kWh")],
                              display=self.shown.append)
        self.port = OpticalPort(self.stream, self.store, self.clock, eui, self.view,
                         auth.Authenticator(anchors, eui, self.clock),
                         self.esme.process if self.esme else None)

    def reboot(self):
        return Meter(self.root, self.clock, self.eui, self.esme_factory, self.anchors)

    def close(self):
        rmtree(self.root)

    def talk(self, data, settle=50):
        """Send bytes to the port, let it react, return what it wrote."""
        self.stream.rx += data
        for _ in range(3):
            self.port.poll()
            self.clock.advance(settle)
        self.port.poll()
        return self.stream.take()

    def security(self):
        """The optical port's security log (coalesced view)."""
        return seclog.optical(self.store).entries()

    def gbcs_security(self):
        """The GBCS security log (written by the ESME pipeline behind pass-through)."""
        return seclog.read(self.store, seclog.GBCS)

    def sign_on_prog(self):
        assert self.talk(iec.request()) == b"/SMl5SMLAB-ESME\r\n"
        return self.talk(iec.option_select("0", "5", "1"))

    def login(self, cred=None, hht_d=HHT_D):
        nonce = challenge_of(self.sign_on_prog())
        ans = p2_answer(nonce, cred, hht_d, self.eui)
        return self.talk(iec.command("P2", "(" + binascii.hexlify(ans).decode() + ")"))

    def persistent(self):
        """Every durable record the port could touch, for 'no state change' checks."""
        return (self.store.get("meter"), self.store.get("optical_lock"), self.store.get("menu_lock"))
