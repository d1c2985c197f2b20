"""ZigBee security helpers (shared/reference/han.md §1-2): CRC-16/X-25 for install codes,
the AES-MMO hash (ZigBee spec B.6, Matyas-Meyer-Oseas with AES-128) and HMAC-MMO (spec B.1.4,
RFC 2104 construction with the 16-byte MMO hash, 16-byte block).

Install codes carry their CRC least-significant byte first (on-air / hash-input order); the link
key is AES-MMO(code || CRC as on the wire). The form is explicit, because 8 bytes are either an
8-byte code or a 6-byte code with its CRC: install_code_link_key(code_with_crc) checks the CRC,
install_code_link_key_without_crc(code) computes it. key_transport_key / key_load_key are the
keyed hashes of ZigBee spec 4.5.3 (HMAC-MMO with 0x00 / 0x02).
"""
from firmware.alerts import Reject
from firmware.crypto.aes import AES

INSTALL_CODE_LENGTHS = (6, 8, 12, 16)


def crc16_x25(data):
    """CRC-16/X-25: poly 0x1021 reflected (0x8408), init 0xFFFF, xorout 0xFFFF."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            if crc & 1:
                crc = (crc >> 1) ^ 0x8408
            else:
                crc >>= 1
    return crc ^ 0xFFFF


def install_code_crc_bytes(code):
    """The 2 CRC bytes to append to an install code (least-significant byte first)."""
    if len(code) not in INSTALL_CODE_LENGTHS:
        raise Reject("format", None, "install code must be 6, 8, 12 or 16 bytes")
    c = crc16_x25(code)
    return bytes((c & 0xFF, c >> 8))


def check_install_code(code_with_crc, display_order=False):
    """Validate an install code followed by its 2-byte CRC; return the code without the CRC.

    Wire order is CRC LSB first. With display_order=True (vendor display strings that print the
    CRC most-significant byte first) either byte order is accepted. Reject("format") otherwise.
    """
    n = len(code_with_crc) - 2
    if n not in INSTALL_CODE_LENGTHS:
        raise Reject("format", None, "install code + CRC must be 8, 10, 14 or 18 bytes")
    code = bytes(code_with_crc[:n])
    got = bytes(code_with_crc[n:])
    want = install_code_crc_bytes(code)
    if got == want or (display_order and got == bytes((want[1], want[0]))):
        return code
    raise Reject("format", None, "install code CRC mismatch")


def install_code_with_crc(code):
    """code || CRC in wire order (the MMO input) for a code of 6, 8, 12 or 16 bytes WITHOUT CRC."""
    return bytes(code) + install_code_crc_bytes(code)


def _mmo_pad(data):
    n = len(data)
    bits = n * 8
    if bits < 1 << 16:
        pad = b"\x80" + bytes((13 - n) % 16) + bits.to_bytes(2, "big")
    else:
        pad = b"\x80" + bytes((9 - n) % 16) + bits.to_bytes(4, "big") + b"\x00\x00"
    return pad


def aes_mmo(data):
    """AES-MMO hash: H0 = 0; Hj = AES_{Hj-1}(Mj) xor Mj. Returns 16 bytes."""
    data = bytes(data)
    if len(data) >= 1 << 29:
        raise Reject("format", None, "MMO input too long")
    msg = data + _mmo_pad(data)
    h = bytes(16)
    for off in range(0, len(msg), 16):
        m = msg[off:off + 16]
        e = AES(h).encrypt_block(m)
        h = (int.from_bytes(e, "big") ^ int.from_bytes(m, "big")).to_bytes(16, "big")
    return h


def install_code_link_key(code_with_crc, display_order=False):
    """Link key of an install code given WITH its CRC (6/8/12/16 code bytes + 2 CRC bytes = 8, 10,
    14 or 18 bytes): the CRC is checked (Reject("format") on a mismatch), then the key is
    AES-MMO(code || CRC in wire order). A 6-byte code with its CRC (8 bytes) is never taken for an
    8-byte code: this function always reads the last 2 bytes as the CRC."""
    code = check_install_code(code_with_crc, display_order)
    return aes_mmo(install_code_with_crc(code))


def install_code_link_key_without_crc(code):
    """Link key of an install code given WITHOUT its CRC (6, 8, 12 or 16 bytes; GB CCS01 carries
    the 16-byte code without CRC): the CRC is computed here, then AES-MMO(code || CRC)."""
    return aes_mmo(install_code_with_crc(code))


def hmac_mmo(key, data):
    """HMAC with AES-MMO as the hash (block 16 bytes), ZigBee spec B.1.4."""
    key = bytes(key)
    if len(key) > 16:
        key = aes_mmo(key)
    key = key + bytes(16 - len(key))
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    return aes_mmo(opad + aes_mmo(ipad + bytes(data)))


def key_transport_key(link_key):
    """Key-transport key = HMAC-MMO(link key, 0x00) (ZigBee spec 4.5.3, B.1.4): protects an APS
    Transport-Key command carrying the network key (aux-header key identifier 2)."""
    return hmac_mmo(link_key, b"\x00")


def key_load_key(link_key):
    """Key-load key = HMAC-MMO(link key, 0x02): protects a transported link key (key identifier 3)."""
    return hmac_mmo(link_key, b"\x02")
