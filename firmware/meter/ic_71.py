"""COSEM interface class 71 (Limiter) objects of the ESME that RTDS use cases address (GBCS §7.2;
shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py."""

ATTRS = (
    (b"\x00\x00\x11\x00\x00\xFF", 4, 1, "dlu"),  # 0-0:17.0.0.255
    (b"\x00\x00\x11\x00\x00\xFF", 6, 1, "dlu"),  # 0-0:17.0.0.255
    (b"\x00\x00\x11\x00\x00\xFF", 7, 1, "dlu"),  # 0-0:17.0.0.255
    (b"\x00\x00\x11\x00\x01\xFF", 4, 3, "dlu"),  # 0-0:17.0.1.255
    (b"\x00\x00\x11\x00\x01\xFF", 6, 3, "dlu"),  # 0-0:17.0.1.255
    (b"\x00\x00\x11\x00\x02\xFF", 4, 3, "dlu"),  # 0-0:17.0.2.255
    (b"\x00\x00\x11\x00\x02\xFF", 6, 3, "dlu"),  # 0-0:17.0.2.255
    (b"\x00\x00\x11\x00\x03\xFF", 4, 3, "dlu"),  # 0-0:17.0.3.255
    (b"\x00\x00\x11\x00\x03\xFF", 6, 3, "dlu"),  # 0-0:17.0.3.255
    (b"\x00\x00\x11\x00\x04\xFF", 4, 3, "dlu"),  # 0-0:17.0.4.255
    (b"\x00\x00\x11\x00\x04\xFF", 6, 3, "dlu"),  # 0-0:17.0.4.255
)
