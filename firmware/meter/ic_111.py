"""COSEM interface class 111 (Account) objects of the ESME that RTDS use cases address (GBCS §7.2;
shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py."""

ATTRS = (
    (b"\x00\x00\x13\x00\x00\xFF", 2, 1, "s(e,e)"),  # 0-0:19.0.0.255
    (b"\x00\x00\x13\x00\x00\xFF", 11, 1, "a(s(os6,os6,bs))"),  # 0-0:19.0.0.255
    (b"\x00\x00\x13\x00\x00\xFF", 16, 1, "dl"),  # 0-0:19.0.0.255
    (b"\x00\x00\x13\x00\x00\xFF", 18, 1, "u16"),  # 0-0:19.0.0.255
    (b"\x00\x00\x13\x00\x00\xFF", 19, 1, "dl"),  # 0-0:19.0.0.255
)
