"""COSEM interface class 7 (Profile generic) objects of the ESME that RTDS use cases address (GBCS
§7.2; shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py; method 1 reset empties the buffer (attribute 2); a GET with an access
selector (range or entry descriptor) answers the stored buffer, which holds the entries the
selection covers (the buffer is kept as the compact-array RTDS returns)."""
from firmware.gbcs import dlms

CLASS = 7

ATTRS = (
    (b"\x00\x00\x62\x01\x04\xFF", 2, 17, "carr"),  # 0-0:98.1.4.255
    (b"\x00\x00\x62\x01\x05\xFF", 2, 17, "carr"),  # 0-0:98.1.5.255
    (b"\x00\x00\x62\x01\x0A\xFF", 2, 17, "carr"),  # 0-0:98.1.10.255
    (b"\x00\x00\x63\x01\x01\xFF", 2, 17, "carr"),  # 0-0:99.1.1.255
    (b"\x00\x00\x63\x01\x02\xFF", 2, 17, "carr"),  # 0-0:99.1.2.255
    (b"\x00\x00\x63\x62\x00\xFF", 2, 17, "carr"),  # 0-0:99.98.0.255
    (b"\x00\x00\x63\x62\x01\xFF", 2, 17, "carr"),  # 0-0:99.98.1.255
    (b"\x00\x00\x63\x62\x04\xFF", 2, 17, "carr"),  # 0-0:99.98.4.255
    (b"\x00\x00\x63\x62\x14\xFF", 2, 17, "carr"),  # 0-0:99.98.20.255
    (b"\x00\x11\x63\x62\x02\xFF", 2, 17, "carr"),  # 0-17:99.98.2.255
    (b"\x01\x00\x20\x18\x00\xFF", 2, 17, "carr"),  # 1-0:32.24.0.255
    (b"\x01\x00\x20\x18\x00\xFF", 4, 3, "dlu"),  # 1-0:32.24.0.255
    (b"\x01\x00\x34\x18\x00\xFF", 2, 17, "carr"),  # 1-0:52.24.0.255
    (b"\x01\x00\x34\x18\x00\xFF", 4, 3, "dlu"),  # 1-0:52.24.0.255
    (b"\x01\x00\x48\x18\x00\xFF", 2, 17, "carr"),  # 1-0:72.24.0.255
    (b"\x01\x00\x48\x18\x00\xFF", 4, 3, "dlu"),  # 1-0:72.24.0.255
)
METHODS = (
    (b"\x00\x00\x63\x62\x00\xFF", 1, 0, "i8"),  # 0-0:99.98.0.255
    (b"\x00\x11\x63\x62\x02\xFF", 1, 0, "i8"),  # 0-17:99.98.2.255
)


def act(ctx, obis, method, item):
    """IC 7 method 1 reset(integer 0): the buffer emptied."""
    from firmware.meter import ic_base as B

    B.stage(ctx, CLASS, obis, 2, b"\x01\x00")
    return dlms.SUCCESS, None


def select(raw, sel):
    """Access selector 1 (range descriptor) or 2 (entry descriptor), each a structure: the stored
    buffer; any other selector is refused (None)."""
    if (sel[0] == 1 or sel[0] == 2) and sel[1][0] == dlms.STRUCTURE:
        return raw
    return None
