"""Host-side UTRN and configuration-code library: generate codes for a device, supplier prepayment
key and counter with `cryptography` (an implementation of the MAC independent of the firmware's
GMAC), decode and explain a code. Format per shared/reference/gbcs.md §9 (the digit format and check
digit come from firmware/utrn/codec.py: one implementation of the format); configuration codes per
docs/config-codes.md. The command line is `smlab utrn` / `smlab code`.

Keys: the supplier side holds the prepayment-top-up KA private key and the device's KA public key;
the device side the device KA private key and the supplier's pp-KA public key. ECDH gives the same Z
either way, so `z_supplier_side` and `z_device_side` agree.
"""
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography import x509

from firmware.alerts import Reject
from firmware.gbcs import parties
from firmware.utrn import codec, config
from host_tools.errors import UsageError
from host_tools.gbcs.verify import ALGORITHM_ID
from host_tools.util import parse_eui

CLASS_NAMES = {0: "pennies", 1: "pounds", 2: "configuration code (project extension)",
               3: "reserved (always rejected)"}


class UtrnError(UsageError, ValueError):
    """Bad request for a code (one-line reason)."""


# -- keys ---------------------------------------------------------------------------------------
def load_private(path_or_pem):
    data = _read(path_or_pem)
    return serialization.load_pem_private_key(data, None)


def load_public(path_or_pem):
    """A P-256 public key from a PEM certificate or SubjectPublicKeyInfo (file path or bytes)."""
    data = _read(path_or_pem)
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def _read(p):
    if isinstance(p, (bytes, bytearray)):
        return bytes(p)
    with open(p, "rb") as f:
        return f.read()


def raw_private(key):
    return key.private_numbers().private_value.to_bytes(32, "big")


def raw_public(key):
    """Uncompressed SEC1 point (65 bytes) of a public key (or of a private key's public half)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def ecdh_z(private_key, public_key):
    """x-coordinate of the shared point (32 bytes)."""
    return private_key.exchange(ec.ECDH(), public_key)


# -- MAC (independent of firmware/crypto) ---------------------------------------------------------
def _eui(b, what):
    return parse_eui(b, what)


def tag4(z, supplier_eui, device_eui, counter, hi32):
    """The 4-byte UTRN MAC (gbcs.md §9.3) with cryptography's AES-GCM."""
    s = _eui(supplier_eui, "supplier")
    d = _eui(device_eui, "device")
    c8 = (counter << 32).to_bytes(8, "big")
    other = ALGORITHM_ID + s + bytes((9, parties.U_COMMAND)) + c8 + d
    key = hashlib.sha256(b"\x00\x00\x00\x01" + z + other).digest()[:16]
    aad = b"\x11\x00\x00\x00\x00\x00" + s + d + b"\x01" + c8 + hi32.to_bytes(4, "big")
    return AESGCM(key).encrypt(s + b"\x00\x00\x00\x00", b"", aad)[12:16]


# -- generation -----------------------------------------------------------------------------------
def generate(z, supplier_eui, device_eui, counter, vclass, value):
    """A 20-digit code for UTRN counter `counter` (0..2^32-1), value class and 13-bit value."""
    if not 0 <= counter <= 0xFFFFFFFF:
        raise UtrnError("UTRN counter must be 0..2^32-1")
    if vclass not in (0, 1, 2, 3) or not 0 <= value <= 8191:
        raise UtrnError("value class 0..3 and value 0..8191")
    trunc = counter & 0x3FF
    hi32 = (trunc << 15) | (vclass << 13) | value
    return codec.encode(trunc, vclass, value, tag4(z, supplier_eui, device_eui, counter, hi32))


def topup(z, supplier_eui, device_eui, counter, pennies):
    """A top-up UTRN for `pennies`: class 00 (pennies) up to 8191 p, else class 01 (whole pounds)."""
    if pennies <= 0:
        raise UtrnError("top-up amount must be positive")
    if pennies <= 8191:
        return generate(z, supplier_eui, device_eui, counter, 0, pennies)
    if pennies % 100 or pennies // 100 > 8191:
        raise UtrnError("amounts over 8191 p must be whole pounds up to 8191")
    return generate(z, supplier_eui, device_eui, counter, 1, pennies // 100)


def config_code(z, supplier_eui, device_eui, counter, op, arg=0):
    """A configuration code (value class 10): op is an opcode int or a name such as
    'switch_to_credit' / 'enable_supply'."""
    if isinstance(op, str):
        if op not in config.BY_NAME:
            raise UtrnError("unknown configuration code %r (known: %s)" % (op, ", ".join(config.BY_NAME)))
        op = config.BY_NAME[op]
    try:
        v = config.value(op, arg)
    except Reject as e:
        raise UtrnError(str(e))
    return generate(z, supplier_eui, device_eui, counter, 2, v)


# -- decode / explain -----------------------------------------------------------------------------
def decode(code):
    """Fields of a code (no MAC check): dict; UtrnError when digits/check digit/range are wrong."""
    s = str(code).strip()
    try:
        p = codec.decode(s)
    except Reject as e:
        raise UtrnError("%s: %s" % (e.reason, e.detail))
    d = {"utrn": s, "pptd": s[:19], "check_digit": int(s[19]),
         "ptut": "%08x%s" % (p.hi32, p.mac.hex()), "truncated_counter": p.trunc,
         "value_class": p.vclass, "class_name": CLASS_NAMES[p.vclass], "value": p.value,
         "mac": p.mac.hex()}
    if p.vclass in (0, 1):
        d["amount_pennies"] = p.amount_pennies()
    elif p.vclass == 2:
        op, arg = config.split(p.value)
        d["opcode"] = op
        d["operation"] = config.NAMES.get(op, "unknown")
        d["argument"] = arg
    return d


def find_counter(z, supplier_eui, device_eui, code, near=None, span=1 << 22):
    """The UTRN counter whose MAC matches (None if none): tries counters with the code's truncated
    counter, starting at `near` (e.g. the counter the device would reconstruct) or 0."""
    p = codec.decode(code)
    base = (near or 0) & ~0x3FF
    for k in range(0, span >> 10):
        for c in (base + (k << 10) + p.trunc, base - (k << 10) + p.trunc):
            if 0 <= c <= 0xFFFFFFFF and tag4(z, supplier_eui, device_eui, c, p.hi32) == p.mac:
                return c
    return None


def explain(code, z=None, supplier_eui=None, device_eui=None, counter=None):
    """Human-readable lines describing a code; with keys (Z, EUIs) also the MAC result."""
    s = str(code).strip()
    lines = ["code            %s" % s]
    if len(s) != 20 or not s.isdigit():
        return "\n".join(lines + ["INVALID: need 20 decimal digits"])
    cd = codec.check_digit(s[:19])
    lines.append("check digit     %s (expected %d): %s" % (s[19], cd, "ok" if cd == int(s[19]) else "WRONG"))
    try:
        d = decode(s)
    except UtrnError as e:
        return "\n".join(lines + ["INVALID: %s" % e])
    lines += ["PPTD            %s" % d["pptd"],
              "PTUT            %s" % d["ptut"],
              "counter (trunc) %d  (UTRN counter mod 1024)" % d["truncated_counter"],
              "value class     %d = %s" % (d["value_class"], d["class_name"]),
              "value           %d" % d["value"]]
    if "amount_pennies" in d:
        a = d["amount_pennies"]
        lines.append("credit          £%d.%02d" % (a // 100, a % 100))
    if "opcode" in d:
        lines.append("operation       %d = %s, argument %d" % (d["opcode"], d["operation"], d["argument"]))
    lines.append("MAC             %s" % d["mac"])
    if z is not None:
        c = counter if counter is not None else find_counter(z, supplier_eui, device_eui, s)
        if c is None:
            lines.append("MAC check       FAILED for device %s (no counter matches)" % _eui(device_eui, "device").hex())
        else:
            ok = tag4(z, supplier_eui, device_eui, c, int(d["ptut"][:8], 16)).hex() == d["mac"]
            lines.append("MAC check       %s for device %s, UTRN counter %d (originator counter 0x%016x)"
                         % ("ok" if ok else "FAILED", _eui(device_eui, "device").hex(), c, c << 32))
    return "\n".join(lines)


# -- the supplier side of a key store --------------------------------------------------------------
LEDGER = "utrn-counters.json"


def supplier_secret(keys, device, supplier=None):
    """(Z, supplier EUI) for a device from key store `keys`: ECDH(supplier pp-KA private, device
    KA public). `supplier` picks one when the store has several."""
    from host_tools.keys import pki

    dev, (sup,) = pki.find_parties(keys, device, [("supplier", "pp-ka", supplier)])
    return ecdh_z(sup.private["pp-ka"], dev.public["ka"]), sup.eui


def next_counter(keys, supplier, device, counter=None, ledger=None):
    """The UTRN counter to use (default: next in the device's sequence 1, 2, 3, ...), recorded in
    the key store's ledger (through `ledger`, a pki.Ledger a campaign holds open, when given). Sequential counters are what keypad entry needs: a meter rebuilds the
    full counter from its 10 truncated bits within +-512 of the highest it has seen (GBCS Table 27)."""
    from host_tools.keys import pki

    if counter is not None and not 0 <= counter <= 0xFFFFFFFF:
        raise UtrnError("UTRN counter must be 0..2^32-1")

    def propose(last):
        return counter if counter is not None else max((last or 0) + 1, 1)

    key = supplier.hex() + ":" + device.hex()
    if ledger is not None:
        return ledger.bump(key, propose)
    return pki.bump_ledger(keys, LEDGER, key, propose)


def last_counter(keys, supplier, device):
    """The last UTRN counter the key store issued to this device, or None."""
    import json
    import os

    try:
        with open(os.path.join(keys, LEDGER)) as f:
            return json.load(f).get(supplier.hex() + ":" + device.hex())
    except (OSError, ValueError):
        return None


def parse_amount(amount):
    """Pennies from pounds with up to two decimals ("10", "12.50", ".5"); UtrnError otherwise."""
    try:
        pounds, _, pence = str(amount).partition(".")
        if len(pence) > 2 or not (pounds or pence):
            raise ValueError
        return int(pounds or "0") * 100 + int((pence + "00")[:2])
    except ValueError:
        raise UtrnError("amount must be pounds with up to 2 decimals: %r" % amount)


def check(code, z, supplier_eui, device_eui, counter=None, near=None):
    """Decode a code and check its MAC for a device: the decode() fields plus mac_ok and counter
    (the counter whose MAC matches, searched near `near` unless given); a malformed code gives
    {"utrn", "invalid"}."""
    try:
        d = decode(code)
    except UtrnError as e:
        return {"utrn": str(code).strip(), "invalid": str(e)}
    if z is None:
        return d
    c = counter
    if c is None:
        c = find_counter(z, supplier_eui, device_eui, d["utrn"], near=near)
    d["mac_ok"] = c is not None and tag4(z, supplier_eui, device_eui, c, int(d["ptut"][:8], 16)).hex() == d["mac"]
    d["counter"] = c
    return d
