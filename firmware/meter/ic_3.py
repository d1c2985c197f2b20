"""COSEM interface class 3 (Register) objects of the ESME that RTDS use cases address (GBCS §7.2;
shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py; method 1 reset sets the value (attribute 2) to zero."""
from firmware.gbcs import dlms

CLASS = 3

ATTRS = (
    (b"\x00\x00\x5E\x2C\x01\x07", 2, 1, "dlu"),  # 0-0:94.44.1.7
    (b"\x00\x00\x5E\x2C\x01\x07", 3, 1, "s(i8,e)"),  # 0-0:94.44.1.7
    (b"\x00\x00\x5E\x2C\x01\x08", 2, 1, "dlu"),  # 0-0:94.44.1.8
    (b"\x00\x00\x5E\x2C\x01\x08", 3, 1, "s(i8,e)"),  # 0-0:94.44.1.8
    (b"\x00\x00\x5E\x2C\x2A\xFF", 2, 1, "dlu"),  # 0-0:94.44.42.255
    (b"\x00\x00\x5E\x2C\x2A\xFF", 3, 1, "s(i8,e)"),  # 0-0:94.44.42.255
    (b"\x01\x00\x02\x08\x00\xFF", 2, 1, "dlu"),  # 1-0:2.8.0.255
    (b"\x01\x00\x02\x08\x00\xFF", 3, 1, "s(i8,e)"),  # 1-0:2.8.0.255
    (b"\x01\x00\x04\x08\x00\xFF", 2, 1, "dlu"),  # 1-0:4.8.0.255
    (b"\x01\x00\x04\x08\x00\xFF", 3, 1, "s(i8,e)"),  # 1-0:4.8.0.255
    (b"\x01\x00\x20\x20\x00\x04", 2, 1, "dlu"),  # 1-0:32.32.0.4
    (b"\x01\x00\x20\x20\x00\x04", 3, 1, "s(i8,e)"),  # 1-0:32.32.0.4
    (b"\x01\x00\x20\x24\x00\x04", 2, 1, "dlu"),  # 1-0:32.36.0.4
    (b"\x01\x00\x20\x24\x00\x04", 3, 1, "s(i8,e)"),  # 1-0:32.36.0.4
    (b"\x01\x00\x34\x20\x00\x04", 2, 1, "dlu"),  # 1-0:52.32.0.4
    (b"\x01\x00\x34\x20\x00\x04", 3, 1, "s(i8,e)"),  # 1-0:52.32.0.4
    (b"\x01\x00\x34\x24\x00\x04", 2, 1, "dlu"),  # 1-0:52.36.0.4
    (b"\x01\x00\x34\x24\x00\x04", 3, 1, "s(i8,e)"),  # 1-0:52.36.0.4
    (b"\x01\x00\x48\x20\x00\x04", 2, 1, "dlu"),  # 1-0:72.32.0.4
    (b"\x01\x00\x48\x20\x00\x04", 3, 1, "s(i8,e)"),  # 1-0:72.32.0.4
    (b"\x01\x00\x48\x24\x00\x04", 2, 1, "dlu"),  # 1-0:72.36.0.4
    (b"\x01\x00\x48\x24\x00\x04", 3, 1, "s(i8,e)"),  # 1-0:72.36.0.4
)
METHODS = (
    (b"\x00\x00\x5E\x2C\x2A\xFF", 1, 0, "i8"),  # 0-0:94.44.42.255
    (b"\x01\x00\x20\x20\x00\x04", 1, 0, "i8"),  # 1-0:32.32.0.4
    (b"\x01\x00\x20\x24\x00\x04", 1, 0, "i8"),  # 1-0:32.36.0.4
    (b"\x01\x00\x34\x20\x00\x04", 1, 0, "i8"),  # 1-0:52.32.0.4
    (b"\x01\x00\x34\x24\x00\x04", 1, 0, "i8"),  # 1-0:52.36.0.4
    (b"\x01\x00\x48\x20\x00\x04", 1, 0, "i8"),  # 1-0:72.32.0.4
    (b"\x01\x00\x48\x24\x00\x04", 1, 0, "i8"),  # 1-0:72.36.0.4
)


def act(ctx, obis, method, item):
    """IC 3 method 1 reset(integer 0): the value attribute back to zero of its type."""
    from firmware.meter import ic_base as B

    spec = B.spec_of(ATTRS, obis, 2)
    if spec is not None:
        B.stage(ctx, CLASS, obis, 2, B.default(spec))
    return dlms.SUCCESS, None
