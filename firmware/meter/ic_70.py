"""COSEM interface class 70 (Disconnect control) objects of the ESME that RTDS use cases address (GBCS
§7.2; shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py."""

ATTRS = (
    (b"\x00\x01\x60\x03\x0A\xFF", 2, 1, "b"),  # 0-1:96.3.10.255
    (b"\x00\x02\x60\x03\x0A\xFF", 2, 1, "b"),  # 0-2:96.3.10.255
    (b"\x00\x03\x60\x03\x0A\xFF", 2, 1, "b"),  # 0-3:96.3.10.255
    (b"\x00\x04\x60\x03\x0A\xFF", 2, 1, "b"),  # 0-4:96.3.10.255
    (b"\x00\x05\x60\x03\x0A\xFF", 2, 1, "b"),  # 0-5:96.3.10.255
)
