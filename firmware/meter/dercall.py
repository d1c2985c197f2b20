"""The ESME dispatch table's DER hook (GBCS §7.3 DER content; Table.der in firmware/core/gate.py): a
stub the role sets at build time, so the DER use cases (firmware/meter/der.py) load only when a DER
command arrives."""


def answer(device, m, party, log):
    from firmware.meter.der import answer as a

    return a(device, m, party, log)


def fault(device, m, party, log):
    from firmware.meter.der import fault as f

    return f(device, m, party, log)
