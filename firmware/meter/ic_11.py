"""COSEM interface class 11 (Special days table) objects of the ESME that RTDS use cases address (GBCS
§7.2; shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py."""

ATTRS = (
    (b"\x00\x00\x0B\x00\x00\xFF", 2, 1, "a(s(u16,os,u8))"),  # 0-0:11.0.0.255
    (b"\x00\x00\x0B\x00\x01\xFF", 2, 1, "a(s(u16,os,u8))"),  # 0-0:11.0.1.255
    (b"\x00\x00\x0B\x00\x02\xFF", 2, 1, "a(s(u16,os,u8))"),  # 0-0:11.0.2.255
    (b"\x00\x00\x0B\x00\x03\xFF", 2, 1, "a(s(u16,os,u8))"),  # 0-0:11.0.3.255
    (b"\x00\x01\x0B\x00\x00\xFF", 2, 6, "a(s(u16,os,u8))"),  # 0-1:11.0.0.255
    (b"\x00\x01\x0B\x00\x01\xFF", 2, 6, "a(s(u16,os,u8))"),  # 0-1:11.0.1.255
    (b"\x00\x01\x0B\x00\x02\xFF", 2, 6, "a(s(u16,os,u8))"),  # 0-1:11.0.2.255
    (b"\x00\x01\x0B\x00\x03\xFF", 2, 6, "a(s(u16,os,u8))"),  # 0-1:11.0.3.255
)
