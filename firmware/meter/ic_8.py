"""COSEM interface class 8 (Clock) objects of the ESME that RTDS use cases address (GBCS §7.2;
shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py."""

ATTRS = (
    (b"\x00\x00\x01\x00\x00\xFF", 2, 9, "os12"),  # 0-0:1.0.0.255
    (b"\x00\x00\x01\x00\x00\xFF", 4, 9, "u8"),  # 0-0:1.0.0.255
    (b"\x00\x00\x01\x00\x00\xFF", 9, 6, "e"),  # 0-0:1.0.0.255
)
METHODS = (
    (b"\x00\x00\x01\x00\x00\xFF", 4, 1, "i8"),  # 0-0:1.0.0.255
    (b"\x00\x00\x01\x00\x00\xFF", 5, 1, "s(os12,os12,os12)"),  # 0-0:1.0.0.255
)
