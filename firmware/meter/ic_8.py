"""COSEM interface class 8 (Clock) objects of the ESME that RTDS use cases address (GBCS §7.2;
shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py; method 5 preset_adjusting_time stages {preset time, validity start, end}
and method 4 adjust_to_preset_time applies a specified preset time (all-FF: not specified, the
clock is left as it is) through the clock attribute 2."""
from firmware.gbcs import dlms

CLASS = 8

ATTRS = (
    (b"\x00\x00\x01\x00\x00\xFF", 2, 9, "os12"),  # 0-0:1.0.0.255
    (b"\x00\x00\x01\x00\x00\xFF", 4, 9, "u8"),  # 0-0:1.0.0.255
    (b"\x00\x00\x01\x00\x00\xFF", 9, 6, "e"),  # 0-0:1.0.0.255
)
METHODS = (
    (b"\x00\x00\x01\x00\x00\xFF", 4, 1, "i8"),  # 0-0:1.0.0.255
    (b"\x00\x00\x01\x00\x00\xFF", 5, 1, "s(os12,os12,os12)"),  # 0-0:1.0.0.255
)


def act(ctx, obis, method, item):
    from firmware.meter import ic_base as B

    if method == 5:
        ctx.stage("clock-preset", item[1][0][1])
        return dlms.SUCCESS, None
    t = ctx.staged("clock-preset")
    if t is not None and t[0] != 0xFF:
        B.stage(ctx, CLASS, obis, 2, dlms.encode((dlms.OCTET_STRING, t)))
    return dlms.SUCCESS, None
