"""ZigBee Encapsulation Protocol version 2 (as Wireshark's ZEP dissector reads it; UDP port 17754):
IEEE 802.15.4 frames (PSDU) carried over UDP, one frame per datagram.

Data header, 32 bytes: preamble "EX", version 2, type 1 (data), channel (11-26), device id (16-bit
BE), LQI/CRC mode (1 = CRC mode: the PSDU ends in its 2-byte FCS, CRC-16/KERMIT; 0 = LQI mode:
the last 2 bytes are sniffer metadata), LQI, NTP timestamp (32-bit seconds since 1900 + 32-bit
fraction, BE), sequence number (32-bit BE), 10 reserved bytes, PSDU length. This project always
sends CRC mode with a real FCS.
"""
import struct

from firmware.zigbee import mac
from host_tools.errors import SmlabError

PORT = 17754
HEADER_LEN = 32
TYPE_DATA = 1
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01


class ZepError(SmlabError):
    """A datagram that is not a ZEP v2 data frame this project reads."""


def ntp(unix_time):
    sec = int(unix_time)
    frac = int((unix_time - sec) * (1 << 32)) & 0xFFFFFFFF
    return struct.pack(">II", (sec + NTP_EPOCH_OFFSET) & 0xFFFFFFFF, frac)


def encode(psdu, channel=11, device_id=0, seq=0, lqi=255, unix_time=0.0, crc_mode=True):
    """ZEP v2 data datagram carrying `psdu` (the MAC frame including its FCS)."""
    if not 11 <= channel <= 26:
        raise ZepError("channel %d is not a 2.4 GHz O-QPSK channel (11-26)" % channel)
    if len(psdu) > 127:
        raise ZepError("PSDU of %d bytes exceeds aMaxPHYPacketSize (127)" % len(psdu))
    return (b"EX" + bytes((2, TYPE_DATA, channel)) + struct.pack(">H", device_id)
            + bytes((1 if crc_mode else 0, lqi)) + ntp(unix_time) + struct.pack(">I", seq & 0xFFFFFFFF)
            + bytes(10) + bytes((len(psdu),)) + bytes(psdu))


def decode(datagram, check_fcs=True):
    """dict(channel, device_id, crc_mode, lqi, seq, psdu) of a ZEP v2 data datagram; in CRC mode
    the FCS is checked (ZepError on a bad one)."""
    d = bytes(datagram)
    if len(d) < HEADER_LEN or d[:2] != b"EX" or d[2] != 2 or d[3] != TYPE_DATA:
        raise ZepError("not a ZEP v2 data frame")
    n = d[31]
    if len(d) != HEADER_LEN + n:
        raise ZepError("ZEP length %d does not match the datagram (%d)" % (n, len(d) - HEADER_LEN))
    psdu = d[HEADER_LEN:]
    crc_mode = d[7] == 1
    if crc_mode and check_fcs and (n < 2 or mac.fcs(psdu[:-2]) != psdu[-2:]):
        raise ZepError("FCS mismatch")
    return {"channel": d[4], "device_id": struct.unpack(">H", d[5:7])[0], "crc_mode": crc_mode,
            "lqi": d[8], "seq": struct.unpack(">I", d[17:21])[0], "psdu": psdu}
