"""The ESME's answers to GBCS commands whose content is ASN.1 DER, not a DLMS access request (GBCS §7.3
and its ASN.1 annex; shared/reference/usecases.md "ASN.1 DER" rows, shared/reference/han.md §6):

  CS02a/b/c/d/e/f/g  credential management (firmware/core/credentials.py)
  CS03 (A1/A2/B/C)   join a device to the meter's device log: JoinDevice -> INTEGER, the 14 join
                     response codes (firmware/meter/joins.py, loaded on demand)
  CS04AC             unjoin: EUI-64 -> INTEGER 0 success, 1 not in the device log, 2 other failure
  CS07               read device join details: {0 / 1 read failure, [{EUI-64, device type}]}
  CS06               activate firmware: {image hash, originator counter, [execution date-time]} ->
                     immediate: {response code, firmware version} (0 success, 1 no image held,
                     2 hash mismatch); future-dated: NULL (accepted; run_due runs it at its time;
                     9999-12-31 23:59:59 cancels a pending one)

    table.der = answer          # answer(device, msg, party, log) -> response content

The device log is the store record "devlog" ([[EUI-64 hex, device type], ...], DEVICE_LOG_SIZE
entries [U]); the key establishment with the partner (CBKE for method A) runs over the HAN, which
this layer does not reach. Firmware state is the record "fw": running version, the image held (its
hash and version) and a pending future-dated activation. join() and stage_image() set them for
benches (an image arrives by the hub's firmware distribution, CS05/CCS08). Malformed DER is logged
and answered INTEGER 3 (as the RTDS "command failed" answers); a command from a party without
authority is refused (Reject NO_AUTHORITY). Loaded on demand by the ESME's dispatch table.
"""
from firmware.alerts import Reject, NO_AUTHORITY
from firmware.core import asn1 as D

DEVLOG_REC = "devlog"
FW_REC = "fw"
DEVICE_LOG_SIZE = 5  # [U] as firmware/meter/joins.py (which enforces it)
CANCEL_TIME = b"99991231235959Z"
_FAILED = b"\x02\x01\x03"

# CS03 message code -> the join method and role it carries (0 method A initiator, 1 method A
# responder, 2 method B, 3 method C)
JOIN_METHOD = {0x000D: 0, 0x00AB: 1, 0x000E: 2, 0x00AF: 3}
_CS02 = (0x0102, 0x0103, 0x0104, 0x0105, 0x0106, 0x0107, 0x0108, 0x0125, 0x0126)


def answer(device, m, party, log):
    """Response content of DER command `m` from `party` (see the module docstring)."""
    code = m.message_code
    try:
        if code in (0x0008, 0x011B):
            from firmware.core.credentials import provide_details as fn
        elif code in _CS02:
            from firmware.core.credentials import update as fn
        elif code == 0x000A:
            from firmware.core.credentials import issue as fn
        elif code == 0x000B:
            from firmware.core.credentials import update_device_cert as fn
        elif code == 0x000C:
            from firmware.core.credentials import provide_device_cert as fn
        elif code in JOIN_METHOD:
            from firmware.meter.joins import join_device as fn
        elif code == 0x000F:
            from firmware.meter.joins import unjoin_device as fn
        elif code == 0x0013:
            from firmware.meter.joins import read_details as fn
        elif code == 0x0012:
            fn = activate_firmware
        else:
            log.append("der unknown code %04X ctr %d" % (code, m.counter))
            return _FAILED
        return fn(device, m, party, log)
    except Reject as e:
        if e.code == NO_AUTHORITY:
            raise
        log.append("der %04X code %04X ctr %d %s" % (e.code or 0, code, m.counter, e.detail[:100]))
        return _FAILED


def _top(m):
    buf = m.content
    el = D.head(buf, 0)
    if el[2] != len(buf):
        raise Reject("der", None, "trailing bytes")
    return buf, el


# --- device log --------------------------------------------------------------------------------
def device_log(store):
    """[(EUI-64 bytes, device type)] of the ESME's device log."""
    import binascii

    return [(binascii.unhexlify(x[0]), x[1]) for x in store.get_json(DEVLOG_REC, [])]


def join(store, eui, dtype):
    """Add (or keep) an entry: 0 success, 3 incompatible with the existing entry, 4 log full,
    5 write failure."""
    from firmware.meter.joins import add

    return add(store, eui, dtype)


def unjoin_device(device, m, party, log):
    from firmware.meter.joins import unjoin_device as u

    return u(device, m, party, log)


# --- firmware activation -------------------------------------------------------------------------
def _fw(store):
    return store.get_json(FW_REC, None) or {"v": "00000000"}


def stage_image(store, image_hash, version, running=None):
    """Record a received firmware image (its 32-byte manufacturer image hash and 4-byte version;
    image_hash None: no image) and, when given, the 4-byte version the device runs."""
    import binascii

    fw = _fw(store)
    if image_hash is not None:
        fw["img"] = binascii.hexlify(image_hash).decode()
        fw["iv"] = binascii.hexlify(version).decode()
    if running is not None:
        fw["v"] = binascii.hexlify(running).decode()
    store.put_json(FW_REC, fw)


def _activate(store, image_hash):
    """(response code, version) of activating the image with this hash; one store write."""
    import binascii

    fw = _fw(store)
    if not fw.get("img"):
        code = 1
    elif binascii.unhexlify(fw["img"]) != image_hash:
        code = 2
    else:
        code = 0
        fw["v"] = fw.pop("iv")
        del fw["img"]
        fw.pop("fd", None)
        store.put_json(FW_REC, fw)
    return code, binascii.unhexlify(fw["v"])


def activate_firmware(device, m, party, log):
    import binascii

    buf, top = _top(m)
    f = D.items(buf, top[1], top[2])
    if len(f) < 2:
        raise Reject("der", None, "ActivateFirmware fields")
    h = bytes(buf[D.expect(f[0], D.OCTET_STRING)[1]:f[0][2]])
    ctr = D.uint(buf, *D.expect(f[1], D.INTEGER)[1:3])
    if ctr != m.counter or len(h) != 32:
        raise Reject("der", None, "originator counter %d in a command with counter %d" % (ctr, m.counter))
    st = device.store
    if len(f) > 2:
        when = bytes(buf[D.expect(f[2], D.GENERALIZED_TIME)[1]:f[2][2]])
        fw = _fw(st)
        if when == CANCEL_TIME:
            fw.pop("fd", None)
        else:
            fw["fd"] = {"at": when.decode(), "ctr": ctr, "hash": binascii.hexlify(h).decode()}
        st.put_json(FW_REC, fw)
        return D.null()
    code, v = _activate(st, h)
    return D.seq(D.integer(code), D.octets(v))


def fault(device, m, party, log):
    """The answer of a DER command a device failure stopped before it ran (firmware/core/faults.py,
    table.der_fault): an immediate CS06 activation -> {1 not activated, the version still running};
    any other -> INTEGER 3 (command failed)."""
    import binascii

    n = 0
    if m.message_code == 0x0012:
        try:
            buf, top = _top(m)
            n = len(D.items(buf, top[1], top[2]))
        except Reject:
            n = -1  # malformed: answered as any failed command
    if n == 2:
        return D.seq(D.integer(1), D.octets(binascii.unhexlify(_fw(device.store)["v"])))
    log.append("der fault code %04X ctr %d" % (m.message_code, m.counter))
    return _FAILED


def run_due(device, now_text):
    """Run a pending future-dated activation whose date-time (GeneralizedTime text) is not after
    `now_text`: returns (originator counter, response code, version) for its alert, or None."""
    import binascii

    st = device.store
    fw = _fw(st)
    fd = fw.get("fd")
    if not fd or fd["at"] > now_text:
        return None
    fw.pop("fd")
    st.put_json(FW_REC, fw)
    code, v = _activate(st, binascii.unhexlify(fd["hash"]))
    return fd["ctr"], code, v
