"""Write tests/vectors/utrn/*.json: the UTRN vectors the project owns (shared/reference/gbcs.md §9.8
for the RTDS side; docs/utrn.md).

* rtds_a0.json - ESME 00DB1234567890A0 and supplier 90B3D51F30010000 from the RTDS keystore: Z
  (device side and supplier side agree), the verified corpus UTRNs with their counters, and the
  corpus' deliberately bad check digit.
* own_keys.json - a project key pair for a device and for a supplier prepayment key (test keys,
  generated once and kept), plus a second device ("other meter"), and codes made for them with
  `cryptography`: top-ups in both value classes, configuration codes, and codes for the other meter.

Regenerate: `.venv/bin/python -m host_tools.codes.vectors [--new-keys]`; the host tests check that the
committed files equal a regeneration from their keys.
"""
import argparse
import json
import os

from cryptography.hazmat.primitives.asymmetric import ec

from host_tools.codes import utrn as U
from host_tools.util import ROOT

OUT = os.path.join(ROOT, "tests", "vectors", "utrn")
KEYSTORE = os.path.join(os.path.dirname(ROOT), "shared", "interop", "rtds", "keystore")
A0 = "00db1234567890a0"
A1 = "00db1234567890a1"
SUPPLIER = "90b3d51f30010000"

RTDS_CODES = [
    # utrn, counter, class, value, source (shared/reference/gbcs.md §9.8)
    ("73946144332040217315", 3, 1, 10, "2.2_CS01a SUCCESS command"),
    ("73948959061972833313", 5, 1, 10, "2.2_CS01a ERROR command"),
    ("73943333457189043313", 1, 1, 100, "gbcs-parser utrn test"),
    ("73947252416745201637", 4, 0, 1234, "gbcs-parser utrn test"),
    ("73943680956463432551", 1, 1, 8191, "gbcs-parser utrn test (maximum value)"),
]
RTDS_OTHER_METER = ("73950067887105178605", 6, A1, "2.2_CS01b SUCCESS command (GSME a1)")
RTDS_BAD_CHECK_DIGIT = "12345678910121314156"

OWN_DEVICE = "02534d4c01010001"  # bench device EUI scheme (host_tools/keys/pki.py): ESME serial 1
OWN_OTHER = "02534d4c01010002"  # ESME serial 2: the "other meter"
OWN_SUPPLIER = "02534d4c00000200"  # supplier, index 0


def rtds():
    dev = U.load_private(os.path.join(KEYSTORE, A0 + "-ka.key"))
    pp_pub = U.load_public(os.path.join(KEYSTORE, SUPPLIER + "-pp-ka.pem"))
    pp_priv = U.load_private(os.path.join(KEYSTORE, SUPPLIER + "-pp-ka.key"))
    z = U.ecdh_z(dev, pp_pub)
    assert z == U.ecdh_z(pp_priv, U.load_public(os.path.join(KEYSTORE, A0 + "-ka.pem")))
    codes = []
    for u, c, vc, v, src in RTDS_CODES:
        assert U.generate(z, SUPPLIER, A0, c, vc, v) == u, u
        codes.append({"utrn": u, "counter": c, "value_class": vc, "value": v, "source": src})
    other_u, other_c, other_dev, other_src = RTDS_OTHER_METER
    z1 = U.ecdh_z(pp_priv, U.load_public(os.path.join(KEYSTORE, other_dev + "-ka.pem")))
    assert U.generate(z1, SUPPLIER, other_dev, other_c, 0, 1250) == other_u
    return {
        "device_eui": A0, "supplier_eui": SUPPLIER,
        "device_ka_private": U.raw_private(dev).hex(), "supplier_pp_public": U.raw_public(pp_pub).hex(),
        "z": z.hex(), "codes": codes,
        "other_meter": {"utrn": other_u, "counter": other_c, "device_eui": other_dev, "source": other_src},
        "bad_check_digit": RTDS_BAD_CHECK_DIGIT,
    }


def _key_from_hex(h):
    return ec.derive_private_key(int(h, 16), ec.SECP256R1())


def own(old=None):
    if old is None:
        keys = {n: U.raw_private(ec.generate_private_key(ec.SECP256R1())).hex()
                for n in ("device_ka_private", "other_ka_private", "supplier_pp_private")}
    else:
        keys = {n: old[n] for n in ("device_ka_private", "other_ka_private", "supplier_pp_private")}
    dev = _key_from_hex(keys["device_ka_private"])
    oth = _key_from_hex(keys["other_ka_private"])
    sup = _key_from_hex(keys["supplier_pp_private"])
    z = U.ecdh_z(sup, dev.public_key())
    z_other = U.ecdh_z(sup, oth.public_key())
    codes = []
    for c, pennies in ((1, 500), (2, 1250), (3, 2000), (7, 8191), (8, 10000), (1000, 150), (1500, 300)):
        codes.append({"utrn": U.topup(z, OWN_SUPPLIER, OWN_DEVICE, c, pennies), "counter": c,
                      "kind": "credit", "amount": pennies})
    for c, op in ((20, "switch_to_credit"), (21, "enable_supply")):
        codes.append({"utrn": U.config_code(z, OWN_SUPPLIER, OWN_DEVICE, c, op), "counter": c,
                      "kind": "config", "op": op})
    other = [{"utrn": U.topup(z_other, OWN_SUPPLIER, OWN_OTHER, c, 1000), "counter": c}
             for c in (30, 31)]
    d = {"device_eui": OWN_DEVICE, "other_eui": OWN_OTHER, "supplier_eui": OWN_SUPPLIER}
    d.update(keys)
    d.update({"device_ka_public": U.raw_public(dev).hex(), "other_ka_public": U.raw_public(oth).hex(),
              "supplier_pp_public": U.raw_public(sup).hex(), "z": z.hex(), "z_other": z_other.hex(),
              "codes": codes, "other_meter_codes": other})
    return d


def build(new_keys=False):
    old = None
    path = os.path.join(OUT, "own_keys.json")
    if not new_keys and os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
    return {"rtds_a0.json": rtds(), "own_keys.json": own(old)}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.codes.vectors", description=__doc__.splitlines()[0])
    ap.add_argument("--new-keys", action="store_true", help="generate fresh project test keys")
    args = ap.parse_args(argv)
    os.makedirs(OUT, exist_ok=True)
    for name, d in build(args.new_keys).items():
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(d, f, indent=1, sort_keys=True)
            f.write("\n")
        print("wrote", os.path.join(OUT, name))


if __name__ == "__main__":
    main()
