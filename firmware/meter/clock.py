"""Meter time: UTC seconds since 1970 <-> the DLMS date-time octet-string (DLMS IC 8 clock, 12 bytes:
year u16, month, day, day-of-week, hour, minute, second, hundredths, deviation i16, status;
shared/reference/gbcs.md §2.4). Civil-calendar arithmetic done here, not with time.mktime (local
time on the unix port) so a device and a host agree.
"""


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of the proleptic Gregorian date y-m-d."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil(t):
    """(year, month, day, hour, minute, second, day-of-week 1=Monday) of UTC seconds t."""
    z = t // 86400
    s = t - z * 86400
    dow = (z + 3) % 7 + 1
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d, s // 3600, (s // 60) % 60, s % 60, dow


def to_dlms(t):
    """12-byte DLMS date-time of UTC seconds t (deviation 0x8000 unspecified, status 0xFF)."""
    y, m, d, hh, mm, ss, dow = civil(t)
    return bytes((y >> 8, y & 0xFF, m, d, dow, hh, mm, ss, 0, 0x80, 0, 0xFF))


def from_dlms(b):
    """UTC seconds of a 12-byte DLMS date-time (wildcard hour/minute/second 0xFF read as 0); None
    when the date is not specified (year 0xFFFF, month or day 0xFF)."""
    if len(b) != 12:
        return None
    y = (b[0] << 8) | b[1]
    if y == 0xFFFF or b[2] in (0, 0xFF) or b[3] in (0, 0xFF):
        return None
    hh, mm, ss = (0 if x == 0xFF else x for x in (b[5], b[6], b[7]))
    return days_from_civil(y, b[2], b[3]) * 86400 + hh * 3600 + mm * 60 + ss


def text(t):
    """'YYYY-MM-DD hh:mm:ss' of UTC seconds t (logs and displays)."""
    y, m, d, hh, mm, ss, _ = civil(t)
    return "%04d-%02d-%02d %02d:%02d:%02d" % (y, m, d, hh, mm, ss)
