"""UTRN MAC (GBCS §14.3.4-14.3.5 as reproduced in shared/reference/gbcs.md §9.3):

    counter64 = UTRN counter << 32
    Z   = ECDH(device KA private, supplier KA public of the (supplier, KA, prePaymentTopUp) cell)
    K   = GBCS KDF(Z, originator = supplier EUI-64, U = 01, counter64, recipient = device EUI-64)
    IV  = supplier EUI-64 || 00000000
    AAD = 11 00 00 00 00 00 || supplier || device || 01 || counter64 || PTUT hi32
    MAC = bytes 12..15 of the 16-byte GCM tag (GMAC, empty plaintext) = PTUT lo32

Z is static per (device key, supplier prepayment key) and is computed once (`shared_z`) and cached by
the caller. The comparison is constant-time (firmware.crypto.ct).

KDF + GMAC are firmware.crypto.gmac.gbcs_mac (single-shot, no per-key state); the tests check it
against `cryptography`.
"""
from firmware.crypto import ct
from firmware.crypto.gmac import gmac, gbcs_mac

_AAD_HEAD = b"\x11\x00\x00\x00\x00\x00"


def gmac16(key16, iv12, aad):
    """Full 16-byte GMAC tag (AES-GCM, empty plaintext, 96-bit IV) for one key."""
    return gmac(key16, iv12, aad, 16)


def tag4(z32, supplier8, device8, counter, hi4):
    """The 4-byte UTRN MAC for UTRN counter `counter` (32-bit int) and PTUT hi32 bytes `hi4`."""
    c8 = (counter << 32).to_bytes(8, "big")
    supplier8 = bytes(supplier8)
    device8 = bytes(device8)
    aad = _AAD_HEAD + supplier8 + device8 + b"\x01" + c8 + bytes(hi4)
    return gbcs_mac(bytes(z32), supplier8, 1, c8, device8, aad, 16)[12:16]


def verify(z32, supplier8, device8, counter, ptut):
    """True when the PTUT's MAC is right for this device, supplier and counter (constant time)."""
    return ct.equal(tag4(z32, supplier8, device8, counter, ptut.hi_bytes()), ptut.mac)


def shared_z(device_ka_private32, supplier_pp_public):
    """Z for the UTRN MAC: x-coordinate of ECDH(device KA private, supplier prepayment KA public).
    Slow on a device (P-256 in Python): call once per trust-anchor change and keep the result."""
    from firmware.crypto import p256

    return p256.ecdh(device_ka_private32, supplier_pp_public)
