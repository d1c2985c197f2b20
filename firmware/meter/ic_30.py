"""COSEM interface class 30 (Data protection) objects of the ESME that RTDS use cases address (GBCS §7.2;
shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py."""

ATTRS = (
)
METHODS = (
    (b"\x00\x00\x2B\x02\x01\xFF", 1, 0, "s(a(s(u16,os6,i8,u16,s(e,*))),a(*))"),  # 0-0:43.2.1.255
    (b"\x00\x00\x2B\x02\x02\xFF", 1, 0, "s(a(s(u16,os6,i8,u16,s(e,*))),a(*))"),  # 0-0:43.2.2.255
    (b"\x00\x00\x2B\x02\x03\xFF", 1, 0, "s(a(s(u16,os6,i8,u16,s(e,*))),a(*))"),  # 0-0:43.2.3.255
    (b"\x00\x00\x2B\x02\x04\xFF", 1, 0, "s(a(s(u16,os6,i8,u16,s(e,*))),a(*))"),  # 0-0:43.2.4.255
    (b"\x00\x00\x2B\x02\x05\xFF", 1, 0, "s(a(s(u16,os6,i8,u16,s(e,*))),a(*))"),  # 0-0:43.2.5.255
    (b"\x00\x00\x2B\x02\x06\xFF", 1, 0, "s(a(s(u16,os6,i8,u16,s(e,*))),a(*))"),  # 0-0:43.2.6.255
    (b"\x00\x00\x2B\x02\x07\xFF", 1, 0, "s(a(s(u16,os6,i8,u16,s(e,*))),a(*))"),  # 0-0:43.2.7.255
    (b"\x00\x00\x2B\x02\x08\xFF", 1, 0, "s(a(s(u16,os6,i8,u16,s(e,*))),a(*))"),  # 0-0:43.2.8.255
    (b"\x00\x00\x2B\x02\x09\xFF", 1, 0, "s(a(s(u16,os6,i8,u16,s(e,*))),a(*))"),  # 0-0:43.2.9.255
    (b"\x00\x00\x2B\x02\x0A\xFF", 1, 0, "s(a(s(u16,os6,i8,u16,s(e,*))),a(*))"),  # 0-0:43.2.10.255
)
