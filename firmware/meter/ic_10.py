"""COSEM interface class 10 (Schedule) objects of the ESME that RTDS use cases address (GBCS §7.2;
shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py."""

ATTRS = (
    (b"\x00\x00\x0C\x00\x00\xFF", 2, 3, "a(s(u16,b,os6,u16,os,u16,bs,bs,os,os))"),  # 0-0:12.0.0.255
    (b"\x00\x00\x0C\x00\x01\xFF", 2, 1, "a(s(u16,b,os6,u16,os,u16,bs,bs,os,os))"),  # 0-0:12.0.1.255
    (b"\x00\x00\x0C\x00\x02\xFF", 2, 1, "a(s(u16,b,os6,u16,os,u16,bs,bs,os,os))"),  # 0-0:12.0.2.255
    (b"\x00\x01\x0C\x00\x01\xFF", 2, 6, "a(s(u16,b,os6,u16,os,u16,bs,bs,os,os))"),  # 0-1:12.0.1.255
    (b"\x00\x01\x0C\x00\x02\xFF", 2, 6, "a(s(u16,b,os6,u16,os,u16,bs,bs,os,os))"),  # 0-1:12.0.2.255
)
