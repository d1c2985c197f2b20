"""Host-side independent GBCS verifier and command builder/signer on `cryptography` (not on the
firmware crypto): KRP signatures (ECDSA P-256 / SHA-256, raw r||s, GBCS §6.3.3), the SP 800-56A KDF
(GBCS §4.3.3.3) and the GMAC MAC (AES-128-GCM, 12-byte tag, GBCS §6.2.3); shared/reference/gbcs.md §3.

Framing uses the firmware codec (firmware.gbcs.frame: one implementation of the byte layout); every
cryptographic operation here is independent of firmware/crypto.
"""
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                             encode_dss_signature)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from firmware.gbcs import frame, parties

ALGORITHM_ID = bytes.fromhex("60857406080300")


def _pub(pub):
    if isinstance(pub, (bytes, bytearray)):
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes(pub))
    return pub


def z(priv, pub):
    """ECDH x-coordinate (cryptography private key x SEC1 bytes or public key)."""
    return priv.exchange(ec.ECDH(), _pub(pub))


def kdf(z32, originator, u, counter, recipient):
    other = ALGORITHM_ID + originator + bytes((9, u)) + counter.to_bytes(8, "big") + recipient
    return hashlib.sha256(b"\x00\x00\x00\x01" + z32 + other).digest()[:16]


def gmac(key, iv, aad):
    return AESGCM(key).encrypt(iv, b"", aad)[:12]


def verify_signature(pub, msg):
    """True when msg (parsed Message with raw bytes) carries a valid 64-byte r||s signature."""
    if not msg.signature:
        return False
    r = int.from_bytes(msg.signature[:32], "big")
    s = int.from_bytes(msg.signature[32:], "big")
    try:
        _pub(pub).verify(encode_dss_signature(r, s), bytes(msg.signed()), ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def mac_for(msg, priv, peer_pub, u):
    """The 12-byte MAC of a parsed/built message, computed by the party holding `priv`."""
    key = kdf(z(priv, peer_pub), msg.originator, u, msg.counter, msg.recipient)
    return gmac(key, msg.originator + b"\x00\x00\x00\x00", msg.mac_aad())


# the KDF U value that keys the MAC of each kind of message (GBCS §4.3.3.3)
U_FOR_CRA = {frame.CRA_COMMAND: parties.U_COMMAND, frame.CRA_RESPONSE: parties.U_RESPONSE,
             frame.CRA_ALERT: parties.U_ALERT}


def verify_mac(msg, priv, peer_pub):
    return msg.mac is not None and msg.cra in U_FOR_CRA and \
        mac_for(msg, priv, peer_pub, U_FOR_CRA[msg.cra]) == msg.mac


def sign(priv, data):
    """ECDSA P-256 / SHA-256 over data, returned as raw r||s (randomised nonce)."""
    r, s = decode_dss_signature(priv.sign(bytes(data), ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def build_command(originator, recipient, counter, message_code, content, ds_priv=None,
                  acb_ka_priv=None, device_ka_pub=None, date_time=None, supp=None):
    """Build a GBCS command: signed with ds_priv when given (else signature length 00), MAC'd
    with the ACB KA private key x device KA public key when acb_ka_priv is given (else no MAC
    Header). supp: optional (remote party id, remote party counter)."""
    m = frame.Message(cra=frame.CRA_COMMAND, counter=counter, originator=originator,
                      recipient=recipient, message_code=message_code, content=content,
                      date_time=date_time, mac_header=acb_ka_priv is not None)
    if supp:
        m.supp_remote_id, m.supp_remote_counter = supp
    if ds_priv is not None:
        m.signature = None
        body, _ = frame.build_grouping(m)
        m.signature = sign(ds_priv, body[1:])
    else:
        m.signature = b""
    frame.build(m)
    if acb_ka_priv is not None:
        frame.set_mac(m, mac_for(m, acb_ka_priv, device_ka_pub, parties.U_COMMAND))
    return m.raw


def remac(raw, acb_ka_priv, device_ka_pub):
    """Recompute the MAC of a (possibly altered) MAC'd command: isolates the signature check."""
    m = frame.parse(raw)
    return frame.set_mac(m, mac_for(m, acb_ka_priv, device_ka_pub, parties.U_COMMAND))
