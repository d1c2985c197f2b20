"""Generate the project's own GBCS byte fixtures (tests/vectors/gbcs/*.hex, own_keys.json).

Own test keys (deterministic, from SHA-256 of fixed seeds; test-only, never for a real device) and
commands built and signed on the host with `cryptography` (host_tools/gbcs/verify.py). The fixtures
are committed; rerun only to regenerate: `.venv/bin/python tests/vectors/gbcs/make_fixtures.py`.
ECDSA signatures from `cryptography` are randomised, so a rerun changes the signature bytes.
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(HERE))))

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from firmware.gbcs import dlms, frame  # noqa: E402

from firmware.gbcs import dlms_client  # noqa: E402
from host_tools.gbcs import verify as V  # noqa: E402
from host_tools.gbcs.corpus import priv_bytes, pub_bytes  # noqa: E402

DEVICE = bytes.fromhex("02534d4c01010001")
SUPPLIER = bytes.fromhex("02534d4c00000201")
ACB = bytes.fromhex("02534d4c00000401")
OTHER_DEVICE = bytes.fromhex("02534d4c01010002")
CLOCK = bytes.fromhex("07ea0b17ff16000000800000")


def key(seed):
    d = int.from_bytes(hashlib.sha256(b"smlab gbcs fixture " + seed.encode()).digest(), "big")
    return ec.derive_private_key(d % (2 ** 255), ec.SECP256R1())


KEYS = {n: key(n) for n in ("device-ka", "device-ds", "supplier-ds", "supplier-ka", "acb-ka",
                            "acb-ds")}


def cells():
    out = []
    for role, eui, usage, name in ((2, SUPPLIER, "ds", "supplier-ds"), (2, SUPPLIER, "ka", "supplier-ka"),
                                   (4, ACB, "ds", "acb-ds"), (4, ACB, "ka", "acb-ka")):
        pub = pub_bytes(KEYS[name].public_key())
        out.append({"role": role, "usage": usage, "cell": "management", "eui": eui.hex(),
                    "kid": hashlib.sha256(pub).digest()[:8].hex(), "pub": pub.hex()})
    return out


SCRIPTS = b"\x00\x00\x0a\x00\x6a\xff"
DISCONNECT = b"\x00\x00\x60\x03\x0a\xff"
ACCOUNT = b"\x00\x01\x13\x00\x00\xff"


def ecs03_content(ctr):
    arr = []
    for i in range(13):
        arr.append((2, [(9, bytes((0, 0, 19, 10, i % 3, 255))), (9, bytes((0, 0, 19, 20, i % 5, 255))),
                        (4, (3, b"\xe0"))]))
    return dlms_client.build_request(0x20000000 | ctr, [(2, 111, ACCOUNT, 2), (2, 111, ACCOUNT, 11),
                                                 (2, 111, ACCOUNT, 13)],
                              [(2, [(22, 2), (22, 1)]), (1, arr), (9, bytes(9) + b"\x80\x00\xff")])


def command(ctr, code, content, signed, recipient=DEVICE):
    return V.build_command(SUPPLIER, recipient, ctr, code, content,
                           ds_priv=KEYS["supplier-ds"] if signed else None,
                           acb_ka_priv=KEYS["acb-ka"],
                           device_ka_pub=KEYS["device-ka"].public_key())


def main():
    fx = {}
    for ctr, code, sel in ((0x10, 0x4F, 51), (0x12, 0x50, 52), (0x13, 0x51, 54)):
        c = dlms_client.build_request(0x20000000 | ctr, [(3, 9, SCRIPTS, 1)], [(0x12, sel)])
        fx["cmd_ecs%d" % {0x4F: 42, 0x50: 43, 0x51: 44}[code]] = command(ctr, code, c, True)
    c45 = dlms_client.build_request(0x20000000 | 0x11, [(1, 70, DISCONNECT, 3)], [(0, None)])
    fx["cmd_ecs45"] = command(0x11, 0x52, c45, False)
    fx["cmd_ecs03"] = command(0x15, 0x1B, ecs03_content(0x15), True)
    cu = dlms_client.build_request(0x20000000 | 0x16, [(1, 3, b"\x01\x00\x01\x08\x00\xff", 2),
                                                (3, 9, SCRIPTS, 1)], [(0, None), (0x11, 51)])
    fx["cmd_unknown"] = command(0x16, 0x52, cu, False)
    fx["cmd_other_eui"] = command(0x17, 0x52, c45, False, recipient=OTHER_DEVICE)
    # unsigned critical command (ECS42 code, signature length 00) with a valid MAC
    c42 = dlms_client.build_request(0x20000000 | 0x18, [(3, 9, SCRIPTS, 1)], [(0x12, 51)])
    fx["cmd_ecs42_unsigned"] = command(0x18, 0x4F, c42, False)
    # expected ECS45 response after ECS42 (connected), MAC'd by the device (independent crypto)
    r = frame.Message(cra=2, counter=0x11, originator=DEVICE, recipient=SUPPLIER, message_code=0x52,
                      content=dlms.build_response(0x20000011, [(1, 0, (22, 1))]))
    frame.build(r)
    frame.set_mac(r, V.mac_for(r, KEYS["device-ka"], KEYS["supplier-ka"].public_key(), 2))
    fx["resp_ecs45"] = r.raw
    # codec-only shapes: response with date-time and 18-byte other-info; other-info with a
    # certificate; alert without MAC Header and a long (0x82) content
    m = frame.Message(cra=2, counter=0x0516, originator=DEVICE, recipient=ACB, message_code=1,
                      content=b"\xda\x20\x00\x05\x16\x00\x00\x01\x00\x01\x03\x00", date_time=CLOCK)
    m.supp_remote_id, m.supp_remote_counter = SUPPLIER, 0x3EA
    fx["shape_dt_supp"] = frame.build(m, mac=bytes(range(12)))
    m = frame.Message(cra=1, counter=7, originator=ACB, recipient=DEVICE, message_code=0x34,
                      content=b"\x05\x00")
    m.supp_remote_id, m.supp_remote_counter = SUPPLIER, 0x3EC
    m.ka_cert = b"\x30\x81\x90" + bytes(144)
    fx["shape_cert"] = frame.build(m, mac=bytes(12))
    m = frame.Message(cra=3, counter=2000, originator=DEVICE, recipient=SUPPLIER, message_code=0x1000,
                      content=b"\x0f" + bytes(299), signature=bytes(range(64)), mac_header=False)
    fx["shape_alert_long"] = frame.build(m)
    for n, b in fx.items():
        with open(os.path.join(HERE, n + ".hex"), "w") as f:
            f.write(b.hex() + "\n")
    keys = {"device": DEVICE.hex(), "supplier": SUPPLIER.hex(), "acb": ACB.hex(),
            "other_device": OTHER_DEVICE.hex(), "clock": CLOCK.hex(),
            "device_ka": priv_bytes(KEYS["device-ka"]).hex(),
            "device_ds": priv_bytes(KEYS["device-ds"]).hex(),
            "device_ds_pub": pub_bytes(KEYS["device-ds"].public_key()).hex(),
            "device_ka_pub": pub_bytes(KEYS["device-ka"].public_key()).hex(),
            "supplier_ds": priv_bytes(KEYS["supplier-ds"]).hex(),
            "supplier_ka": priv_bytes(KEYS["supplier-ka"]).hex(),
            "acb_ka": priv_bytes(KEYS["acb-ka"]).hex(),
            "cells": cells()}
    with open(os.path.join(HERE, "own_keys.json"), "w") as f:
        json.dump(keys, f, indent=1)
    print("wrote", len(fx), "fixtures")
    # public trust-anchor cells of the RTDS test PKI (EUI, role, SKI, public key; no private
    # keys), so MicroPython tests can provision the RTDS ESME without parsing X.509
    from host_tools.gbcs import corpus as R

    if R.available():
        with open(os.path.join(HERE, "rtds_cells.json"), "w") as f:
            json.dump({"esme": R.ESME_EUI.hex(), "esme_ds": R.ESME_DS_PRIV.hex(),
                       "esme_ds_pub": R.esme_ds_pub().hex(),
                       "cells": [c.to_json() for c in R.keystore().cells()]}, f, indent=1)
        print("wrote rtds_cells.json")


if __name__ == "__main__":
    main()
