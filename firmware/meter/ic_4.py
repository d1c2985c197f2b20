"""COSEM interface class 4 (Extended register) objects of the ESME that RTDS use cases address (GBCS §7.2;
shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py."""

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
