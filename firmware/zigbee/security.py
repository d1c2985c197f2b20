"""ZigBee NWK and APS frame security (ZigBee spec 4.3.1 NWK, 4.4.1 APS, 4.5.1 auxiliary header,
4.5.2.2 nonce): AES-CCM* at security level 5 (ENC-MIC-32).

Auxiliary header: security control (bits 0-2 level, 3-4 key identifier: 0 data/link key,
1 network key, 2 key-transport key, 3 key-load key; bit 5 extended nonce), frame counter (4 bytes
LE), source EUI-64 (8 bytes LE, when extended nonce), key sequence number (1 byte, key id 1 only).
Nonce (13 bytes) = source EUI-64 || frame counter (both as on air, little-endian) || security
control. The level is sent as 0 on air (spec 4.3.1.1 step 6, 4.4.1.1) and taken as 5 when the
nonce and the additional data (the frame's header || auxiliary header) are computed, by the sender
and the receiver alike; a received frame with another level on air is refused (those bits are
outside the MIC, so accepting any value would let them be altered unnoticed). A frame whose MIC does not verify is Reject("mic"); nothing of it is used.
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.crypto import ccm

LEVEL = const(5)  # ENC-MIC-32
MIC_LEN = const(4)

KEY_DATA = const(0)  # link key
KEY_NWK = const(1)
KEY_TRANSPORT = const(2)
KEY_LOAD = const(3)


class Aux:
    """Auxiliary security header."""

    __slots__ = ("key_id", "ext_nonce", "fc", "src", "key_seq", "level")

    def __init__(self, key_id, fc, src=None, key_seq=None, level=0):
        self.key_id = key_id
        self.fc = fc
        self.src = src
        self.ext_nonce = src is not None
        self.key_seq = key_seq
        self.level = level

    def scf(self, level=None):
        lv = self.level if level is None else level
        return lv | (self.key_id << 3) | (0x20 if self.ext_nonce else 0)

    def encode(self, level=None):
        out = bytes((self.scf(level),)) + self.fc.to_bytes(4, "little")
        if self.ext_nonce:
            out += self.src.to_bytes(8, "little")
        if self.key_id == KEY_NWK:
            out += bytes((self.key_seq or 0,))
        return out

    def __repr__(self):
        return "Aux(key_id=%d fc=%d src=%r seq=%r)" % (self.key_id, self.fc, self.src, self.key_seq)


def parse_aux(data, p):
    """(Aux, next offset) of the auxiliary header at data[p:]."""
    if p + 5 > len(data):
        raise Reject("format", None, "auxiliary security header truncated")
    scf = data[p]
    if scf & 0xC0:
        raise Reject("format", None, "reserved security control bits")
    key_id = (scf >> 3) & 3
    fc = int.from_bytes(data[p + 1:p + 5], "little")
    p += 5
    src = None
    if scf & 0x20:
        if p + 8 > len(data):
            raise Reject("format", None, "auxiliary header source truncated")
        src = int.from_bytes(data[p:p + 8], "little")
        p += 8
    seq = None
    if key_id == KEY_NWK:
        if p + 1 > len(data):
            raise Reject("format", None, "auxiliary header key sequence truncated")
        seq = data[p]
        p += 1
    return Aux(key_id, fc, src, seq, scf & 7), p


def nonce(src, fc, scf):
    """CCM* nonce (spec 4.5.2.2): source EUI-64 || frame counter || security control, as on air."""
    return src.to_bytes(8, "little") + fc.to_bytes(4, "little") + bytes((scf,))


def seal(header, aux, key, plaintext, src=None):
    """On-air bytes header || aux (level 0) || CCM*(plaintext) || MIC, secured at level 5 with
    `key`; `src` is the sender's EUI-64 when the aux header does not carry it."""
    s = aux.src if aux.ext_nonce else src
    if s is None:
        raise Reject("format", None, "source EUI-64 needed for the nonce")
    aad = bytes(header) + aux.encode(LEVEL)
    body = ccm.encrypt(key, nonce(s, aux.fc, aux.scf(LEVEL)), aad, plaintext, MIC_LEN)
    return bytes(header) + aux.encode(0) + body


def open_(header, aux, key, body, src=None):
    """Plaintext of a secured payload (ciphertext || MIC) given its header bytes and aux header;
    Reject("mic") if it does not verify under `key`."""
    if aux.level != 0:
        raise Reject("format", None, "security level %d on air (ZigBee PRO sends 0)" % aux.level)
    s = aux.src if aux.ext_nonce else src
    if s is None:
        raise Reject("format", None, "source EUI-64 needed for the nonce")
    aad = bytes(header) + aux.encode(LEVEL)
    return ccm.decrypt(key, nonce(s, aux.fc, aux.scf(LEVEL)), aad, body, MIC_LEN)


def aps_key(link_key, key_id):
    """The key an APS frame with this key identifier is secured with: the link key itself (data
    key), or its key-transport / key-load hash (spec 4.5.3)."""
    if key_id == KEY_DATA:
        return link_key
    from firmware.crypto import zigbee

    if key_id == KEY_TRANSPORT:
        return zigbee.key_transport_key(link_key)
    if key_id == KEY_LOAD:
        return zigbee.key_load_key(link_key)
    raise Reject("format", None, "key identifier %d is not an APS link key" % key_id)
