"""CBKE message flow (ZSE 1.x Key Establishment cluster 0x0800, han.md §4) on P-256: a
DOCUMENTED DEVIATION (han.md §4.3, docs/han.md §5), not ZSE crypto suite 2.

Kept from ZSE: the cluster's command ids (0x00 Initiate, 0x01 Ephemeral Data, 0x02 Confirm Key,
0x03 Terminate), field order (suite bitmap16 LE, ephemeral-data and confirm-key generate times,
identity), Terminate statuses, identity bound to the sender's EUI-64, static + ephemeral
agreement on both sides, MacKey = MMO(Z || 00000001), KeyData = MMO(Z || 00000002),
MACU = HMAC-MMO(MacKey, 02 || IDU || IDV || QEU || QEV), MACV = the same with 03 (IDs = EUI-64
big-endian, U = initiator), and the link key (KeyData) stored only after the peer's MAC verifies.

Project choices (the deviation): suite bit SUITE_P256 = 0x8000 (project-private, so a real ZSE
peer answers UNSUPPORTED_SUITE); identity = EUI-64 (8, big-endian) || the device's GBCS
key-agreement public key, compressed P-256 (33) = 41 bytes, checked against a table of
provisioned KA keys (unknown EUI-64 -> UNKNOWN_ISSUER, other key or other EUI-64 than the sender
-> INVALID_CERTIFICATE); ephemeral keys compressed (33 bytes); agreement = SP 800-56A full unified
model C(2e, 2s): Z = ECDH(own ephemeral, peer ephemeral) || ECDH(own static, peer static).
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.crypto.zigbee import aes_mmo, hmac_mmo
from firmware.crypto.ct import equal

CLUSTER = const(0x0800)
SUITE_P256 = const(0x8000)

CMD_INITIATE = const(0x00)
CMD_EPHEMERAL = const(0x01)
CMD_CONFIRM = const(0x02)
CMD_TERMINATE = const(0x03)

UNKNOWN_ISSUER = const(0x01)
BAD_KEY_CONFIRM = const(0x02)
BAD_MESSAGE = const(0x03)
NO_RESOURCES = const(0x04)
UNSUPPORTED_SUITE = const(0x05)
INVALID_CERTIFICATE = const(0x06)

ID_LEN = const(41)
EPH_GEN_TIME = const(4)  # seconds a party announces for generating its ephemeral data
CONFIRM_GEN_TIME = const(2)


class Terminate(Reject):
    """A CBKE failure: `status` is the Terminate Key Establishment status to send."""

    def __init__(self, status, detail=""):
        super().__init__("cbke", None, detail)
        self.status = status


def terminate_payload(status, wait=10, suite=SUITE_P256):
    return bytes((status, wait)) + suite.to_bytes(2, "little")


def parse_terminate(payload):
    if len(payload) != 4:
        raise Terminate(BAD_MESSAGE, "Terminate length")
    return payload[0], payload[1], payload[2] | (payload[3] << 8)


def identity(eui, ka_pub):
    """The 41-byte identity: EUI-64 big-endian || compressed KA public key."""
    return eui.to_bytes(8, "big") + compress(ka_pub)


def compress(pub):
    from firmware.crypto.ec256 import decode_point, encode_point

    x, y = decode_point(pub)
    return encode_point(x, y, True)


def public_key_of(d32):
    from firmware.crypto.ec256 import scalar, encode_point
    from firmware.crypto.gtable import base_mul

    x, y = base_mul(scalar(d32))
    return encode_point(x, y, True)


def _ecdh(d32, pub):
    from firmware.crypto.ecdh256 import ecdh

    try:
        return ecdh(d32, pub)
    except Reject:
        raise Terminate(BAD_MESSAGE, "invalid public key")


def derive(z):
    """(MacKey, KeyData) = (MMO(Z || 00000001), MMO(Z || 00000002))."""
    return aes_mmo(z + b"\x00\x00\x00\x01"), aes_mmo(z + b"\x00\x00\x00\x02")


def macs(mac_key, idu, idv, qeu, qev):
    """(MACU, MACV) over IDU || IDV || QEU || QEV with prefixes 02 and 03."""
    m = idu.to_bytes(8, "big") + idv.to_bytes(8, "big") + qeu + qev
    return hmac_mmo(mac_key, b"\x02" + m), hmac_mmo(mac_key, b"\x03" + m)


class _Party:
    """One side of a key establishment. eui: own EUI-64; ka_d: own GBCS key-agreement private key
    (32 bytes); trusted: {EUI-64: KA public key (SEC1, compressed or not)} of the peers this
    device may establish keys with; store_key(peer_eui, key): called once, only after the peer's
    MAC verified; eph_d: injectable ephemeral private key (tests), else from `rng` (os.urandom)."""

    def __init__(self, eui, ka_d, trusted, store_key, eph_d=None, rng=None):
        self.eui = eui
        self.ka_d = ka_d
        self.id = identity(eui, public_key_of(ka_d))
        self.trusted = trusted
        self.store_key = store_key
        self._eph_d = eph_d
        self._rng = rng
        self.peer = None
        self.peer_static = None
        self.qe_own = None
        self.qe_peer = None
        self.mac_key = None
        self.key_data = None
        self.state = 0
        self.link_key = None

    def _new_ephemeral(self):
        d = self._eph_d
        if d is None:
            rng = self._rng
            if rng is None:
                import os

                rng = os.urandom
            while True:
                d = rng(32)
                try:
                    self.qe_own = public_key_of(d)
                    break
                except Reject:  # d = 0 or >= n: draw again
                    continue
        else:
            self.qe_own = public_key_of(d)
        self._eph_d = d

    def _check_identity(self, ident, sender):
        if len(ident) != ID_LEN:
            raise Terminate(BAD_MESSAGE, "identity length %d" % len(ident))
        eui = int.from_bytes(ident[:8], "big")
        pub = self.trusted.get(eui)
        if pub is None:
            raise Terminate(UNKNOWN_ISSUER, "no KA key provisioned for %016X" % eui)
        if eui != sender:
            raise Terminate(INVALID_CERTIFICATE, "identity %016X is not the sender %016X"
                            % (eui, sender))
        if not equal(compress(pub), bytes(ident[8:])):
            raise Terminate(INVALID_CERTIFICATE, "KA key differs from the provisioned one")
        self.peer = eui
        self.peer_static = bytes(ident[8:])

    def _initiate_fields(self, payload, sender):
        if len(payload) != 4 + ID_LEN:
            raise Terminate(BAD_MESSAGE, "Initiate length %d" % len(payload))
        suite = payload[0] | (payload[1] << 8)
        if not suite & SUITE_P256:
            raise Terminate(UNSUPPORTED_SUITE, "suite 0x%04X" % suite)
        self._check_identity(payload[4:], sender)

    def _agree(self):
        z = _ecdh(self._eph_d, self.qe_peer) + _ecdh(self.ka_d, self.peer_static)
        self.mac_key, self.key_data = derive(z)
        self._eph_d = None  # the ephemeral private key is used once

    def _ephemeral_in(self, payload):
        if len(payload) != 33 or payload[0] not in (2, 3):
            raise Terminate(BAD_MESSAGE, "ephemeral data length/format")
        from firmware.crypto.ec256 import decode_point

        try:
            decode_point(bytes(payload))
        except Reject:
            raise Terminate(BAD_MESSAGE, "ephemeral key not on the curve")
        self.qe_peer = bytes(payload)

    def _store(self):
        self.link_key = self.key_data
        self.store_key(self.peer, self.key_data)
        self.state = 9

    def _expect(self, state):
        if self.state != state:
            raise Terminate(BAD_MESSAGE, "message out of order")


def initiate_payload(ident, suite=SUITE_P256):
    return suite.to_bytes(2, "little") + bytes((EPH_GEN_TIME, CONFIRM_GEN_TIME)) + ident


class Initiator(_Party):
    """U: the client of cluster 0x0800 (the joining device)."""

    def start(self):
        """Initiate Key Establishment Request payload (command 0x00)."""
        self._expect(0)
        self.state = 1
        return initiate_payload(self.id)

    def on_initiate_response(self, payload, sender):
        """Initiate Response from `sender` (EUI-64) -> Ephemeral Data Request payload (QEU)."""
        self._expect(1)
        self._initiate_fields(payload, sender)
        self._new_ephemeral()
        self.state = 2
        return self.qe_own

    def on_ephemeral_response(self, payload):
        """Ephemeral Data Response (QEV) -> Confirm Key Data Request payload (MACU)."""
        self._expect(2)
        self._ephemeral_in(payload)
        self._agree()
        self.state = 3
        macu, _ = macs(self.mac_key, self.eui, self.peer, self.qe_own, self.qe_peer)
        return macu

    def on_confirm_response(self, payload):
        """Confirm Key Data Response (MACV): verify, then store the link key and return it."""
        self._expect(3)
        _, macv = macs(self.mac_key, self.eui, self.peer, self.qe_own, self.qe_peer)
        if len(payload) != 16 or not equal(macv, bytes(payload)):
            self.state = 8
            raise Terminate(BAD_KEY_CONFIRM, "MACV does not verify")
        self._store()
        return self.link_key


class Responder(_Party):
    """V: the server of cluster 0x0800 (the Trust Centre / Comms Hub)."""

    def on_initiate_request(self, payload, sender):
        """Initiate Request from `sender` -> Initiate Response payload."""
        self._expect(0)
        self._initiate_fields(payload, sender)
        self.state = 1
        return initiate_payload(self.id)

    def on_ephemeral_request(self, payload):
        """Ephemeral Data Request (QEU) -> Ephemeral Data Response payload (QEV)."""
        self._expect(1)
        self._ephemeral_in(payload)
        self._new_ephemeral()
        self._agree()
        self.state = 2
        return self.qe_own

    def on_confirm_request(self, payload):
        """Confirm Key Data Request (MACU): verify, store the link key, answer MACV."""
        self._expect(2)
        macu, macv = macs(self.mac_key, self.peer, self.eui, self.qe_peer, self.qe_own)
        if len(payload) != 16 or not equal(macu, bytes(payload)):
            self.state = 8
            raise Terminate(BAD_KEY_CONFIRM, "MACU does not verify")
        self._store()
        return macv
