"""COSEM interface class 20 (Activity calendar) objects of the ESME that RTDS use cases address (GBCS
§7.2; shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py; a SET of activate_passive_calendar_time (10) to "now" makes the passive
calendar name, season, week and day profiles (6-9) the active ones (2-5)."""

CLASS = 20

ATTRS = (
    (b"\x00\x00\x0D\x00\x00\xFF", 3, 1, "a(s(os,os12,os))"),  # 0-0:13.0.0.255
    (b"\x00\x00\x0D\x00\x00\xFF", 4, 1, "a(s(os,u8,u8,u8,u8,u8,u8,u8))"),  # 0-0:13.0.0.255
    (b"\x00\x00\x0D\x00\x00\xFF", 5, 1, "a(s(u8,a(s(os,os6,u16))))"),  # 0-0:13.0.0.255
    (b"\x00\x00\x0D\x00\x00\xFF", 7, 6, "a(s(os,os12,os))"),  # 0-0:13.0.0.255
    (b"\x00\x00\x0D\x00\x00\xFF", 8, 6, "a(s(os,u8,u8,u8,u8,u8,u8,u8))"),  # 0-0:13.0.0.255
    (b"\x00\x00\x0D\x00\x00\xFF", 9, 6, "a(s(u8,a(s(os,os6,u16))))"),  # 0-0:13.0.0.255
    (b"\x00\x00\x0D\x00\x00\xFF", 10, 6, "os12"),  # 0-0:13.0.0.255
    (b"\x00\x00\x0D\x00\x01\xFF", 3, 1, "a(s(os,os12,os))"),  # 0-0:13.0.1.255
    (b"\x00\x00\x0D\x00\x01\xFF", 4, 1, "a(s(os,u8,u8,u8,u8,u8,u8,u8))"),  # 0-0:13.0.1.255
    (b"\x00\x00\x0D\x00\x01\xFF", 5, 1, "a(s(u8,a(s(os,os6,u16))))"),  # 0-0:13.0.1.255
    (b"\x00\x00\x0D\x00\x01\xFF", 7, 6, "a(s(os6,os12,os))"),  # 0-0:13.0.1.255
    (b"\x00\x00\x0D\x00\x01\xFF", 8, 6, "a(s(os,u8,u8,u8,u8,u8,u8,u8))"),  # 0-0:13.0.1.255
    (b"\x00\x00\x0D\x00\x01\xFF", 9, 6, "a(s(u8,a(s(os,os6,u16))))"),  # 0-0:13.0.1.255
    (b"\x00\x00\x0D\x00\x01\xFF", 10, 6, "os12"),  # 0-0:13.0.1.255
)

ACTIVATE = ((10, ((6, 2), (7, 3), (8, 4), (9, 5))),)
