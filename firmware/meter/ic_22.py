"""COSEM interface class 22 (Single action schedule) objects of the ESME that RTDS use cases address
(GBCS §7.2; shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py."""

ATTRS = (
    (b"\x00\x00\x0F\x00\x00\xFF", 4, 7, "a(s(os,os))"),  # 0-0:15.0.0.255
    (b"\x00\x00\x0F\x01\x00\xFF", 4, 6, "a(s(os,os))"),  # 0-0:15.1.0.255
)
