"""GBZ helpers the GSME's command path does not need (firmware/gbcs/gbz.py loads them when used):
Read Attributes payloads, Read Attributes Response records (built; parsed with the data-type sizes
of ZCL §2.6.2), decryption of an encrypted component, and the response components of a
device-failed command (shared/reference/gas.md §1.4-§1.6). Parse errors: Reject "GBZ n" (firmware/gbcs/gbz.py)
with n 20 unknown ZCL type, 21 string truncated, 22 Read Attributes length odd, 23 attribute record
truncated, 24 attribute type missing, 25 attribute value truncated."""
from firmware.compat import const
from firmware.gbcs.gbz import bad, le, Component, reply_fc

# ZCL frame control values seen in GBZ (ZCL §2.4.1.1)
FC_GLOBAL_C2S = const(0x00)
FC_CLUSTER_C2S = const(0x01)
FC_GLOBAL_S2C = const(0x08)
FC_CLUSTER_S2C = const(0x09)
FC_NO_DEFAULT = const(0x10)

# global commands (ZCL §2.5); Read Attributes (0x00) and its response (0x01): firmware/gbcs/gbzinfo.py
DEFAULT_RESPONSE = const(0x0B)

# ZCL status (ZCL §2.6.3)
SUCCESS = const(0x00)
FAILURE = const(0x01)
NOT_FOUND = const(0x8B)
HARDWARE_FAILURE = const(0xC0)

# global commands (ZCL §2.5)
READ_ATTRIBUTES = const(0x00)
READ_ATTRIBUTES_RESPONSE = const(0x01)
UNSUPPORTED_ATTRIBUTE = const(0x86)  # ZCL status
# message codes whose alert body is not a component list (firmware/gbcs/gbz.py parse)
ALERT_FUTURE_DATED = const(0x00CD)
ALERT_FIRMWARE = const(0x00CF)
ALERT_INTEGRITY = const(0x00F2)

# ZCL data type -> value size in bytes (0: length-prefixed string, 1-byte length)
TYPE_SIZE = {
    0x08: 1, 0x09: 2, 0x0A: 3, 0x0B: 4, 0x10: 1, 0x18: 1, 0x19: 2, 0x1A: 3, 0x1B: 4,
    0x20: 1, 0x21: 2, 0x22: 3, 0x23: 4, 0x24: 5, 0x25: 6, 0x26: 7, 0x27: 8,
    0x28: 1, 0x29: 2, 0x2A: 3, 0x2B: 4, 0x2C: 5, 0x2D: 6, 0x2E: 7, 0x2F: 8,
    0x30: 1, 0x31: 2, 0x38: 2, 0x39: 4, 0x3A: 8, 0x41: 0, 0x42: 0, 0xE0: 4, 0xE1: 4, 0xE2: 4,
    0xE8: 2, 0xE9: 2, 0xEA: 4, 0xF0: 8, 0xF1: 16,
}


def value_size(typ, b, p):
    """Bytes of a ZCL value of type `typ` at b[p] (strings: the length byte included)."""
    n = TYPE_SIZE.get(typ)
    if n is None:
        raise bad(20)
    if n == 0:
        if p >= len(b):
            raise bad(21)
        return 1 + (0 if b[p] == 0xFF else b[p])
    return n


def read_attributes(payload):
    """[attribute id] of a Read Attributes payload."""
    if len(payload) & 1:
        raise bad(22)
    return [le(payload, i, 2) for i in range(0, len(payload), 2)]


def unseal(key16, originator8, block):
    """The plaintext of an encrypted block (Reject on a tag mismatch)."""
    from firmware.crypto import gcm

    return gcm.decrypt(key16, bytes(originator8) + b"\x00\x00\x00\x00", block[7:-12], b"\x31", block[-12:])


def attribute_record(a, status, typ=None, value=None):
    """The bytes of one Read Attributes Response record."""
    if status != SUCCESS:
        return bytes((a & 0xFF, a >> 8, status))
    return bytes((a & 0xFF, a >> 8, SUCCESS, typ)) + bytes(value)


def default_response(cmd, status):
    return bytes((cmd, status))


def attribute_records(payload):
    """[(attr id, status, type or None, value bytes or None)] of a Read Attributes Response."""
    out = []
    p = 0
    end = len(payload)
    while p < end:
        if end - p < 3:
            raise bad(23)
        a = le(payload, p, 2)
        st = payload[p + 2]
        p += 3
        if st != SUCCESS:
            out.append((a, st, None, None))
            continue
        if p >= end:
            raise bad(24)
        t = payload[p]
        n = value_size(t, payload, p + 1)
        if p + 1 + n > end:
            raise bad(25)
        out.append((a, st, t, bytes(payload[p + 1:p + 1 + n])))
        p += 1 + n
    return out


def failed(cmd_comps, k, done):
    """Response components of a command whose component `k` failed in the device: `done` (the
    answers of components 0..k-1), then Default Response HARDWARE_FAILURE for component k and
    FAILURE with command id 0xFF for every later one (gas.md §1.5)."""
    out = list(done)
    for i in range(k, len(cmd_comps)):
        c = cmd_comps[i]
        out.append(Component(c.cluster, reply_fc(c.fc, False), c.seq, DEFAULT_RESPONSE,
                             bytes((c.cmd, HARDWARE_FAILURE)) if i == k else b"\xff\x01"))
    return out
