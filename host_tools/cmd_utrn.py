"""`smlab utrn` / `smlab code`: generate and explain UTRN top-ups and configuration codes for a device
from a key store (supplier prepayment-top-up KA private key x device KA public key), through the host
UTRN library (host_tools/utrn.py, MAC on `cryptography`).

The UTRN counter defaults to the next one in a per-(supplier, device) sequence kept in the key store
(`utrn-counters.json`): 1, 2, 3, ... Sequential counters are what manual entry needs: a meter
rebuilds the full counter from its 10 truncated bits within +-512 of the highest counter it has seen
(GBCS Table 27, shared/reference/gbcs.md §9.4), so epoch-second counters (DCC tooling) with gaps of
512 or more would be rejected at the keypad. Pass --counter to choose one explicitly.
"""

import json
import os

from firmware.alerts import Reject
from host_tools import pki
from host_tools import utrn as U
from host_tools.cli import CliError
from host_tools.provision import ProvisionError


def register(sub):
    for name, hlp in (("utrn", "generate / explain a UTRN top-up code"),
                      ("code", "generate / explain a configuration code (project extension)")):
        p = sub.add_parser(name, help=hlp)
        s = p.add_subparsers(dest="action", metavar="ACTION")
        s.required = True
        g = s.add_parser("gen", help="generate a %s for a device" % name)
        g.add_argument("--keys", required=True, help="key store with the supplier pp-KA private key")
        g.add_argument("--device", required=True, help="device EUI-64 (hex)")
        g.add_argument("--supplier", help="supplier EUI-64 when the key store has several")
        g.add_argument("--counter", type=int, help="UTRN counter (default: next in this device's sequence)")
        if name == "utrn":
            g.add_argument("--amount", required=True, help="credit in pounds, e.g. 10 or 12.50")
        else:
            g.add_argument("--op", required=True, choices=sorted(U.config.BY_NAME))
        g.set_defaults(func=gen_utrn if name == "utrn" else gen_code)
        e = s.add_parser("explain", help="decode a code; with --keys/--device also check its MAC")
        e.add_argument("code")
        e.add_argument("--keys")
        e.add_argument("--device")
        e.add_argument("--supplier")
        e.add_argument("--counter", type=int)
        e.set_defaults(func=explain)


def _eui(s, what):
    try:
        b = bytes.fromhex(s)
    except ValueError:
        b = b""
    if len(b) != 8:
        raise CliError("%s must be a 16-hex-digit EUI-64: %r" % (what, s))
    return b


def keys_for(keys, device, supplier=None):
    """(Z, supplier EUI) for a device: ECDH(supplier pp-KA private, device KA public)."""
    try:
        dev, (sup,) = pki.find_parties(keys, device, [("supplier", "pp-ka", supplier)])
    except pki.PkiError as e:
        raise CliError(str(e))
    return U.ecdh_z(sup.private["pp-ka"], dev.public["ka"]), sup.eui


def next_counter(keys, supplier, device, counter=None):
    """The UTRN counter to use (default: next in the device's sequence), recorded in the ledger."""
    if counter is not None and not 0 <= counter <= 0xFFFFFFFF:
        raise CliError("UTRN counter must be 0..2^32-1")

    def propose(last):
        return counter if counter is not None else max((last or 0) + 1, 1)

    return pki.bump_ledger(keys, "utrn-counters.json", supplier.hex() + ":" + device.hex(), propose)


def _pennies(amount):
    try:
        pounds, _, pence = amount.partition(".")
        if len(pence) > 2 or not (pounds or pence):
            raise ValueError
        return int(pounds or "0") * 100 + int((pence + "00")[:2])
    except ValueError:
        raise CliError("amount must be pounds with up to 2 decimals: %r" % amount)


def _gen(args, make, what):
    dev = _eui(args.device, "--device")
    sup_arg = _eui(args.supplier, "--supplier") if args.supplier else None
    try:
        z, sup = keys_for(args.keys, dev, sup_arg)
    except (pki.PkiError, ProvisionError) as e:
        raise CliError(str(e))
    c = next_counter(args.keys, sup, dev, args.counter)
    try:
        code = make(z, sup, dev, c)
    except U.UtrnError as e:
        raise CliError(str(e))
    d = U.decode(code)
    d.update({"counter": c, "device": dev.hex(), "supplier": sup.hex()})
    return {"text": "%s  (%s, UTRN counter %d, device %s)" % (code, what, c, dev.hex()), "data": d}


def gen_utrn(args):
    p = _pennies(args.amount)
    return _gen(args, lambda z, s, d, c: U.topup(z, s, d, c, p), "£%d.%02d" % (p // 100, p % 100))


def gen_code(args):
    return _gen(args, lambda z, s, d, c: U.config_code(z, s, d, c, args.op), args.op)


def last_counter(keys, supplier, device):
    try:
        with open(os.path.join(keys, "utrn-counters.json")) as f:
            return json.load(f).get(supplier.hex() + ":" + device.hex())
    except (OSError, ValueError):
        return None


def explain(args):
    z = sup = dev = None
    counter = args.counter
    if args.keys:
        if not args.device:
            raise CliError("--keys needs --device")
        dev = _eui(args.device, "--device")
        z, sup = keys_for(args.keys, dev, _eui(args.supplier, "--supplier") if args.supplier else None)
        if counter is None:  # search near the counters this key store has issued
            try:
                counter = U.find_counter(z, sup, dev, args.code, near=last_counter(args.keys, sup, dev))
            except Reject:
                counter = None  # malformed code: U.explain below says what is wrong with it
    text = U.explain(args.code, z, sup, dev, counter)
    try:
        data = U.decode(args.code)
    except U.UtrnError as e:
        data = {"utrn": args.code, "invalid": str(e)}
    if z is not None and "invalid" not in data:
        c = counter
        data["mac_ok"] = c is not None and U.tag4(z, sup, dev, c, int(data["ptut"][:8], 16)).hex() == data["mac"]
        data["counter"] = c
    return {"text": text, "data": data}
