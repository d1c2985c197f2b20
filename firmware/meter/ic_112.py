"""COSEM interface class 112 (Credit) objects of the ESME that RTDS use cases address (GBCS §7.2;
shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py; method 1 update_amount adds to and method 2 set_amount_to_value sets the
current credit amount (attribute 2, double-long), method 3 invoke_credit acknowledges."""
from firmware.gbcs import dlms

CLASS = 112

ATTRS = (
    (b"\x00\x00\x13\x0A\x00\xFF", 2, 1, "dl"),  # 0-0:19.10.0.255
    (b"\x00\x00\x13\x0A\x01\xFF", 9, 1, "dl"),  # 0-0:19.10.1.255
    (b"\x00\x00\x13\x0A\x01\xFF", 10, 1, "dl"),  # 0-0:19.10.1.255
)
METHODS = (
    (b"\x00\x00\x13\x0A\x00\xFF", 1, 1, "dl"),  # 0-0:19.10.0.255
    (b"\x00\x00\x13\x0A\x00\xFF", 2, 1, "dl"),  # 0-0:19.10.0.255
    (b"\x00\x00\x13\x0A\x01\xFF", 2, 1, "dl"),  # 0-0:19.10.1.255
    (b"\x00\x00\x13\x0A\x01\xFF", 3, 1, "i8"),  # 0-0:19.10.1.255
    (b"\x00\x00\x13\x0A\x02\xFF", 2, 1, "dl"),  # 0-0:19.10.2.255
)


def act(ctx, obis, method, item):
    from firmware.meter import ic_base as B

    if method == 1 or method == 2:
        v = item[1]
        if method == 1:
            cur = dlms.decode(B.value(ctx, CLASS, obis, 2, "dl"))
            if cur[0] != dlms.DOUBLE_LONG:
                return dlms.OTHER_REASON, None
            v += cur[1]
        if v < -0x80000000 or v > 0x7FFFFFFF:
            return dlms.OTHER_REASON, None
        B.stage(ctx, CLASS, obis, 2, dlms.encode((dlms.DOUBLE_LONG, v)))
    return dlms.SUCCESS, None
