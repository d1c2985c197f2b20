"""COSEM interface class 9 (Script table) objects of the ESME that RTDS use cases address (GBCS §7.2;
shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py."""

ATTRS = (
)
METHODS = (
    (b"\x00\x00\x0A\x00\x64\xFF", 1, 1, "u16"),  # 0-0:10.0.100.255
    (b"\x00\x00\x0A\x00\x67\xFF", 1, 1, "u16"),  # 0-0:10.0.103.255
    (b"\x00\x00\x0A\x00\x6B\xFF", 1, 1, "u16"),  # 0-0:10.0.107.255
)
