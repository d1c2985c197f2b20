"""Live COSEM attributes the metering engine provides to the ESME's attribute store
(firmware/meter/objects.py `provide`): DLMS IC 3 registers (value, scaler_unit), IC 8 clock time,
IC 70 disconnect control output and control state, IC 112 credit amounts, IC 111 account mode and
status (IEC 62056-6-2 classes as GBCS profiles them; OBIS codes as RTDS reads them,
shared/reference/usecases.md).

| class | OBIS            | attr | value                                                        |
|-------|-----------------|------|--------------------------------------------------------------|
| 3     | 1-0:1.8.0.255   | 2, 3 | active import energy, Wh (double-long-unsigned); {0, Wh (30)} |
| 3     | 1-0:1.8.1-4.255 | 2, 3 | TOU rate 1-4 import registers, Wh                            |
| 3     | 1-0:2.8.0.255   | 2, 3 | active export energy, Wh                                     |
| 8     | 0-0:1.0.0.255   | 2    | meter time (12-byte date-time, UTC)                          |
| 70    | 0-0:96.3.10.255 | 2, 3 | output state (boolean), control state (enum 0/1/2)           |
| 112   | 0-0:19.10.0.255 | 2    | meter balance (double-long, milli-pence)                     |
| 112   | 0-0:19.10.1.255 | 2    | emergency credit balance                                     |
| 112   | 0-0:19.10.2.255 | 2    | accumulated debt                                             |
| 111   | 0-0:19.0.0.255  | 2    | {payment mode enum (1 credit, 2 prepayment), status enum}    |

A value written into the store (the RTDS runner seeds the corpus's values that way, host
tools/gbcs/runner.py) takes precedence over the live value: a seeded meter answers what was seeded.
"""
from firmware.gbcs import dlms

_WH = (dlms.STRUCTURE, [(dlms.INTEGER, 0), (dlms.ENUM, 30)])  # scaler 10^0, unit Wh
_DLU = 0x06  # double-long-unsigned
_OBIS_IMPORT = b"\x01\x00\x01\x08\x00\xff"
_OBIS_EXPORT = b"\x01\x00\x02\x08\x00\xff"
_OBIS_CLOCK = b"\x00\x00\x01\x00\x00\xff"
_OBIS_SWITCH = b"\x00\x00\x60\x03\x0a\xff"
_OBIS_ACCOUNT = b"\x00\x00\x13\x00\x00\xff"


def _obis_credit(e):
    return bytes((0, 0, 19, 10, e, 0xFF))


def install(objs, engine, clock):
    """Register the live attributes of `engine` (firmware.meter.engine.Engine) on `objs`;
    clock: callable -> meter time (seconds)."""
    from firmware.meter import clock as C

    def live(cid, obis, attr, fn):
        def get():
            v = objs.stored(cid, obis, attr)
            return v if v is not None else dlms.encode(fn())
        objs.provide(cid, obis, attr, get)

    r = engine
    for obis, fn in ((_OBIS_IMPORT, lambda: r.r["ai"]), (_OBIS_EXPORT, lambda: r.r["ae"])):
        live(3, obis, 2, (lambda f: lambda: (_DLU, f()))(fn))
        live(3, obis, 3, lambda: _WH)
    for i in range(4):
        obis = bytes((1, 0, 1, 8, i + 1, 0xFF))
        live(3, obis, 2, (lambda k: lambda: (_DLU, r.r["tou"][k]))(i))
        live(3, obis, 3, lambda: _WH)
    live(8, _OBIS_CLOCK, 2, lambda: (dlms.OCTET_STRING, C.to_dlms(clock())))
    m = engine.model
    live(70, _OBIS_SWITCH, 2, lambda: (dlms.BOOLEAN, m.supply == "connected"))
    live(70, _OBIS_SWITCH, 3, lambda: (dlms.ENUM, m.control_state))
    for i in range(3):
        live(112, _obis_credit(i), 2, (lambda k: lambda: (dlms.DOUBLE_LONG, engine.accounts()[k] * 1000))(i))
    live(111, _OBIS_ACCOUNT, 2, lambda: (dlms.STRUCTURE, [
        (dlms.ENUM, 2 if m.payment_mode == "prepayment" else 1), (dlms.ENUM, 1)]))
