"""The GSME's answers to GBCS commands whose content is ASN.1 DER (GBCS §7.3): GCS28 clock setting
within a validity window, CS07 read device log, CS04B unjoin, and the device-log and credential use
cases as the ESME answers them (firmware/meter/der.py). Loaded on demand."""
from firmware.alerts import Reject


def answer(dev, m, party, log):
    """GCS28 (set the clock within a validity window: {device time, status 0 reliable / 2 outside
    the window}) here; the device-log and credential use cases as the ESME answers them
    (firmware/meter/der.py)."""
    if m.message_code == 0x007F:
        return _clock_sync(dev, m, log)
    if m.message_code == 0x0013:
        return _read_device_log(dev)
    if m.message_code == 0x0010:  # CS04B unjoin (non-critical form): as the ESME's CS04 unjoin
        from firmware.meter.der import unjoin_device

        try:
            return unjoin_device(dev, m, party, log)
        except Reject as e:
            log.append("der 0010 ctr %d %s" % (m.counter, e.detail[:80]))
            return b"\x02\x01\x03"
    from firmware.meter.der import answer as a

    return a(dev, m, party, log)


def _days(y, m, d):
    """Days from 2000-01-01 to the civil date (proleptic Gregorian)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 730425


def gtime(t):
    """GeneralizedTime text of t seconds since 2000-01-01 UTC."""
    z = t // 86400 + 730425
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    y = yoe + era * 400 + (m <= 2)
    s = t % 86400
    return ("%04d%02d%02d%02d%02d%02dZ" % (y, m, d, s // 3600, s // 60 % 60, s % 60)).encode()


def _parse_gtime(b):
    return (_days(int(b[0:4]), int(b[4:6]), int(b[6:8])) * 86400 + int(b[8:10]) * 3600
            + int(b[10:12]) * 60 + int(b[12:14]))


def _clock_sync(dev, m, log):
    from firmware.core import asn1 as D

    buf = m.content
    try:
        top = D.head(buf, 0)
        f = D.items(buf, top[1], top[2])
        lo = _parse_gtime(bytes(buf[f[0][1]:f[0][2]]))
        hi = _parse_gtime(bytes(buf[f[1][1]:f[1][2]]))
    except (Reject, ValueError, IndexError) as e:
        log.append("gcs28 format ctr %d %s" % (m.counter, e))
        return b"\x02\x01\x03"
    now = dev.now()
    if lo <= now <= hi:
        from firmware.gas.life import set_clock

        set_clock(dev, lo)
        now, st = lo, 0
    else:
        st = 2
    t = gtime(now)
    return b"\x30" + bytes((len(t) + 5,)) + b"\x18" + bytes((len(t),)) + t + b"\x02\x01" + bytes((st,))


def _read_device_log(dev):
    """CS07 read device log: SEQUENCE {INTEGER 0, SEQUENCE OF SEQUENCE {OCTET STRING EUI-64,
    INTEGER device type}} from the device log firmware/meter/der.py keeps."""
    from firmware.meter.der import device_log

    body = b""
    for eui, t in device_log(dev.store):
        e = b"\x04\x08" + eui + b"\x02\x01" + bytes((t,))
        body += b"\x30" + bytes((len(e),)) + e
    inner = b"\x02\x01\x00" + b"\x30" + bytes((len(body),)) + body
    return b"\x30" + bytes((len(inner),)) + inner
