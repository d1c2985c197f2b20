"""COSEM interface class 4 (Extended register) objects of the ESME that RTDS use cases address (GBCS
§7.2; shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py; method 1 reset zeroes the value (attribute 2)."""
from firmware.gbcs import dlms

CLASS = 4

ATTRS = (
    (b"\x01\x00\x01\x06\x00\xFF", 2, 1, "dlu"),  # 1-0:1.6.0.255
    (b"\x01\x00\x01\x06\x00\xFF", 3, 1, "s(i8,e)"),  # 1-0:1.6.0.255
    (b"\x01\x00\x01\x06\x00\xFF", 5, 1, "os12"),  # 1-0:1.6.0.255
    (b"\x01\x00\x01\x06\x01\xFF", 2, 1, "dlu"),  # 1-0:1.6.1.255
    (b"\x01\x00\x01\x06\x01\xFF", 3, 1, "s(i8,e)"),  # 1-0:1.6.1.255
    (b"\x01\x00\x01\x06\x01\xFF", 5, 1, "os12"),  # 1-0:1.6.1.255
    (b"\x01\x00\x02\x06\x00\xFF", 2, 1, "dlu"),  # 1-0:2.6.0.255
    (b"\x01\x00\x02\x06\x00\xFF", 3, 1, "s(i8,e)"),  # 1-0:2.6.0.255
    (b"\x01\x00\x02\x06\x00\xFF", 5, 1, "os12"),  # 1-0:2.6.0.255
)
METHODS = (
    (b"\x01\x00\x01\x06\x00\xFF", 1, 0, "i8"),  # 1-0:1.6.0.255
    (b"\x01\x00\x01\x06\x01\xFF", 1, 0, "i8"),  # 1-0:1.6.1.255
    (b"\x01\x00\x02\x06\x00\xFF", 1, 0, "i8"),  # 1-0:2.6.0.255
)


def act(ctx, obis, method, item):
    """IC 4 method 1 reset(integer 0): the value attribute back to zero of its type."""
    from firmware.meter import ic_base as B

    spec = B.spec_of(ATTRS, obis, 2)
    if spec is not None:
        B.stage(ctx, CLASS, obis, 2, B.default(spec))
    return dlms.SUCCESS, None
