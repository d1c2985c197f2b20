"""COSEM interface class 112 (Credit) objects of the ESME that RTDS use cases address (GBCS §7.2;
shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py."""

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
