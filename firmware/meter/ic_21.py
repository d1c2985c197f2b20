"""COSEM interface class 21 (Register monitor) objects of the ESME that RTDS use cases address (GBCS
§7.2; shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py."""

ATTRS = (
    (b"\x00\x00\x10\x00\x00\xFF", 2, 3, "a(dlu)"),  # 0-0:16.0.0.255
    (b"\x00\x00\x10\x00\x01\xFF", 2, 1, "a(dl)"),  # 0-0:16.0.1.255
    (b"\x00\x00\x10\x00\x0B\xFF", 2, 1, "a(dlu)"),  # 0-0:16.0.11.255
    (b"\x00\x00\x10\x00\x0C\xFF", 2, 1, "a(dlu)"),  # 0-0:16.0.12.255
    (b"\x00\x00\x10\x00\x0D\xFF", 2, 1, "a(dlu)"),  # 0-0:16.0.13.255
    (b"\x00\x00\x10\x00\x0E\xFF", 2, 1, "a(dlu)"),  # 0-0:16.0.14.255
    (b"\x00\x00\x10\x00\x0F\xFF", 2, 1, "a(dlu)"),  # 0-0:16.0.15.255
    (b"\x00\x00\x10\x00\x10\xFF", 2, 1, "a(dlu)"),  # 0-0:16.0.16.255
    (b"\x00\x00\x10\x00\x11\xFF", 2, 1, "a(dlu)"),  # 0-0:16.0.17.255
    (b"\x00\x00\x10\x00\x12\xFF", 2, 1, "a(dlu)"),  # 0-0:16.0.18.255
    (b"\x00\x00\x10\x01\x0B\xFF", 2, 6, "a(dlu)"),  # 0-0:16.1.11.255
    (b"\x00\x00\x10\x01\x0C\xFF", 2, 6, "a(dlu)"),  # 0-0:16.1.12.255
    (b"\x00\x00\x10\x01\x0D\xFF", 2, 6, "a(dlu)"),  # 0-0:16.1.13.255
    (b"\x00\x00\x10\x01\x0E\xFF", 2, 6, "a(dlu)"),  # 0-0:16.1.14.255
    (b"\x00\x00\x10\x01\x0F\xFF", 2, 6, "a(dlu)"),  # 0-0:16.1.15.255
    (b"\x00\x00\x10\x01\x10\xFF", 2, 6, "a(dlu)"),  # 0-0:16.1.16.255
    (b"\x00\x00\x10\x01\x11\xFF", 2, 6, "a(dlu)"),  # 0-0:16.1.17.255
    (b"\x00\x00\x10\x01\x12\xFF", 2, 6, "a(dlu)"),  # 0-0:16.1.18.255
)
