"""COSEM interface class 113 (Charge) objects of the ESME that RTDS use cases address (GBCS §7.2;
shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py; method 2 activate_passive_unit_charge copies the passive unit charge
(attribute 6) to the active one (attribute 5); a SET of unit_charge_activation_time (7) to "now"
does the same."""
from firmware.gbcs import dlms

CLASS = 113

ATTRS = (
    (b"\x00\x00\x13\x14\x00\xFF", 5, 1, "s(s(i8,i8),s(u16,os6,i8),a(s(os,i16)))"),  # 0-0:19.20.0.255
    (b"\x00\x00\x13\x14\x00\xFF", 6, 6, "s(s(i8,i8),s(u16,os6,i8),a(s(os,i16)))"),  # 0-0:19.20.0.255
    (b"\x00\x00\x13\x14\x00\xFF", 7, 6, "os12"),  # 0-0:19.20.0.255
    (b"\x00\x00\x13\x14\x01\xFF", 5, 1, "s(s(i8,i8),s(u16,os6,i8),a(s(os,i16)))"),  # 0-0:19.20.1.255
    (b"\x00\x00\x13\x14\x01\xFF", 6, 6, "s(s(i8,i8),s(u16,os6,i8),a(s(os,i16)))"),  # 0-0:19.20.1.255
    (b"\x00\x00\x13\x14\x01\xFF", 8, 7, "dlu"),  # 0-0:19.20.1.255
    (b"\x00\x00\x13\x14\x02\xFF", 5, 1, "s(s(i8,i8),s(u16,os6,i8),a(s(os,i16)))"),  # 0-0:19.20.2.255
    (b"\x00\x00\x13\x14\x02\xFF", 6, 6, "s(s(i8,i8),s(u16,os6,i8),a(s(os,i16)))"),  # 0-0:19.20.2.255
    (b"\x00\x00\x13\x14\x02\xFF", 8, 7, "dlu"),  # 0-0:19.20.2.255
    (b"\x00\x00\x13\x14\x03\xFF", 13, 7, "u16"),  # 0-0:19.20.3.255
    (b"\x00\x00\x13\x14\x04\xFF", 5, 1, "s(s(i8,i8),s(u16,os6,i8),a(s(os,i16)))"),  # 0-0:19.20.4.255
    (b"\x00\x00\x13\x14\x04\xFF", 6, 6, "s(s(i8,i8),s(u16,os6,i8),a(s(os,i16)))"),  # 0-0:19.20.4.255
    (b"\x00\x00\x13\x14\x04\xFF", 7, 6, "os12"),  # 0-0:19.20.4.255
    (b"\x00\x00\x13\x14\x05\xFF", 5, 1, "s(s(i8,i8),s(u16,os6,i8),a(s(os,i16)))"),  # 0-0:19.20.5.255
    (b"\x00\x00\x13\x14\x05\xFF", 6, 6, "s(s(i8,i8),s(u16,os6,i8),a(s(os,i16)))"),  # 0-0:19.20.5.255
    (b"\x00\x00\x13\x14\x05\xFF", 7, 6, "os12"),  # 0-0:19.20.5.255
)
METHODS = (
    (b"\x00\x00\x13\x14\x01\xFF", 2, 1, "i8"),  # 0-0:19.20.1.255
    (b"\x00\x00\x13\x14\x01\xFF", 4, 1, "dl"),  # 0-0:19.20.1.255
    (b"\x00\x00\x13\x14\x02\xFF", 2, 1, "i8"),  # 0-0:19.20.2.255
    (b"\x00\x00\x13\x14\x02\xFF", 4, 1, "dl"),  # 0-0:19.20.2.255
    (b"\x00\x00\x13\x14\x03\xFF", 4, 1, "dl"),  # 0-0:19.20.3.255
)


def act(ctx, obis, method, item):
    from firmware.meter import ic_base as B

    if method == 2:
        spec = B.spec_of(ATTRS, obis, 6)
        if spec is not None:
            B.stage(ctx, CLASS, obis, 5, B.value(ctx, CLASS, obis, 6, spec))
    return dlms.SUCCESS, None


ACTIVATE = ((7, ((6, 5),)),)
