"""Shared helpers for the optical-port unit tests (no tests here): an in-memory byte stream, a
settable clock, a scratch durable store, HHT credentials signed with real P-256 keys."""
import binascii
import hashlib
import os

from firmware.crypto import p256
from firmware.optical import auth, iec
from firmware.store.durable import Store

METER_EUI = binascii.unhexlify("00DB1234567890A0")
OTHER_EUI = binascii.unhexlify("00DB1234567890A1")
SUPPLIER_EUI = binascii.unhexlify("90B3D51F30010000")
SUPPLIER2_EUI = binascii.unhexlify("90B3D51F30030000")
HHT_ID = binascii.unhexlify("48485400000000A7")
T0 = 1800000000  # RTC seconds at the start of every scenario


def key(label):
    d = hashlib.sha256(b"smlab optical test key " + label).digest()
    return d, p256.public_key(d)


SUP_D, SUP_PUB = key(b"supplier")
SUP2_D, SUP2_PUB = key(b"supplier2")
HHT_D, HHT_PUB = key(b"hht")


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
    return SUP_PUB if issuer == SUPPLIER_EUI else None


def credential(perms=auth.PERM_READ | auth.PERM_PASS, scope=None, not_after=0, issuer=SUPPLIER_EUI,
               signer=SUP_D, hht_pub=HHT_PUB, hht_id=HHT_ID):
    tbs = auth.encode_credential(hht_id, METER_EUI if scope is None else scope, not_after, perms,
                                 issuer, hht_pub[1:])
    return tbs + p256.sign(signer, auth.cert_hash(tbs))


def p2_answer(nonce, cred=None, hht_d=HHT_D, meter=METER_EUI, hht_id=HHT_ID):
    cred = credential() if cred is None else cred
    return cred + p256.sign(hht_d, auth.login_hash(nonce, meter, hht_id))


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
