"""Network-key transport to a joiner (ZigBee spec 4.6.3.2 / 4.4.10.1): the Trust Centre sends an
APS Transport-Key command (key type 1, standard network key) that is NWK-unsecured and
APS-secured at level 5 with the key-transport key (key identifier 2) = HMAC-MMO(install-code
link key, 0x00), extended nonce with the Trust Centre's EUI-64 as source.

The joiner accepts the key only when the MIC verifies under its own link key, the frame counter is
new for the Trust Centre (InCounters), and the command names it as destination and the Trust
Centre as source.
"""
from firmware.alerts import Reject
from firmware.zigbee import aps
from firmware.zigbee import security as sec


def seal_nwk_key(link_key, nwk_key, key_seq, tc_ext, joiner_ext, aps_counter, fc):
    """APS frame bytes of the Transport-Key carrying nwk_key to joiner_ext (fc: the Trust
    Centre's next APS frame counter, counters.OutCounter)."""
    cmd = aps.transport_key(aps.KEY_TYPE_NWK, nwk_key, joiner_ext, tc_ext, key_seq)
    f = aps.ApsFrame(aps.COMMAND, aps_counter, payload=cmd,
                  aux=sec.Aux(sec.KEY_TRANSPORT, fc, src=tc_ext))
    return aps.build(f, sec.aps_key(link_key, sec.KEY_TRANSPORT))


def open_nwk_key(aps_bytes, link_key, tc_ext, joiner_ext, in_counters=None):
    """(nwk_key, key_seq) from a Transport-Key frame; Reject on anything but a verified,
    fresh, correctly addressed standard network key."""
    f = aps.parse(aps_bytes)
    if f.ftype != aps.COMMAND or not f.security or f.aux.key_id != sec.KEY_TRANSPORT:
        raise Reject("format", None, "Transport-Key must be APS-secured with the key-transport key")
    src = f.aux.src if f.aux.ext_nonce else tc_ext
    if src != tc_ext:
        raise Reject("format", None, "Transport-Key not from the Trust Centre")
    if in_counters is not None:
        in_counters.check(src, f.aux.fc)
    payload = aps.open_(f, link_key, tc_ext)
    kt, key, seq, dst, srce = aps.parse_transport_key(payload)
    if kt != aps.KEY_TYPE_NWK or dst != joiner_ext or srce != tc_ext:
        raise Reject("format", None, "Transport-Key not addressed to this device")
    if in_counters is not None:
        in_counters.accept(src, f.aux.fc)
    return key, seq
