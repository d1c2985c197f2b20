"""`smlab utrn` / `smlab code`: generate and explain UTRN top-ups and configuration codes for a device
from a key store (supplier prepayment-top-up KA private key x device KA public key), through the host
UTRN library (host_tools/codes/utrn.py, MAC on `cryptography`).

The UTRN counter defaults to the next one in a per-(supplier, device) sequence kept in the key store
(`utrn-counters.json`): 1, 2, 3, ... (see host_tools.codes.utrn.next_counter). Pass --counter to
choose one. `explain` exits 1 when the code is INVALID or its MAC does not check.
"""
from host_tools.cli import CliError
from host_tools.cli.common import add_home, add_keys, keys
from host_tools.codes import utrn as U
from host_tools.errors import EXIT_REFUSED
from host_tools.util import parse_eui


def register(sub):
    for name, hlp in (("utrn", "generate / explain a UTRN top-up code"),
                      ("code", "generate / explain a configuration code (project extension)")):
        p = sub.add_parser(name, help=hlp)
        add_home(p)
        s = p.add_subparsers(dest="action", metavar="ACTION", help="gen or explain")
        s.required = True
        g = s.add_parser("gen", help="generate a %s for a device" % name)
        add_keys(g, what="key store with the supplier pp-KA private key")
        g.add_argument("--device", required=True, help="device EUI-64 (hex)")
        g.add_argument("--supplier", help="supplier EUI-64 when the key store has several")
        g.add_argument("--counter", type=int, help="UTRN counter (default: next in this device's sequence)")
        if name == "utrn":
            g.add_argument("--amount", required=True, help="credit in pounds, e.g. 10 or 12.50")
        else:
            g.add_argument("--op", required=True, choices=sorted(U.config.BY_NAME), help="the operation")
        g.set_defaults(func=gen_utrn if name == "utrn" else gen_code)
        e = s.add_parser("explain", help="decode a code; with --keys/--device also check its MAC")
        e.add_argument("code", help="the 20-digit code")
        e.add_argument("--keys", metavar="DIR", help="key store to check the MAC with (needs --device)")
        e.add_argument("--device", help="device EUI-64 the code is for")
        e.add_argument("--supplier", help="supplier EUI-64 when the key store has several")
        e.add_argument("--counter", type=int, help="UTRN counter to check (default: searched near the "
                                                   "counters the key store issued)")
        e.set_defaults(func=explain)


def _gen(args, make, what):
    dev = parse_eui(args.device, "--device")
    sup_arg = parse_eui(args.supplier, "--supplier") if args.supplier else None
    ks = keys(args)
    z, sup = U.supplier_secret(ks, dev, sup_arg)
    c = U.next_counter(ks, sup, dev, args.counter)
    code = make(z, sup, dev, c)
    d = U.decode(code)
    d.update({"counter": c, "device": dev.hex(), "supplier": sup.hex()})
    return {"text": "%s  (%s, UTRN counter %d, device %s)" % (code, what, c, dev.hex()), "data": d}


def gen_utrn(args):
    p = U.parse_amount(args.amount)
    return _gen(args, lambda z, s, d, c: U.topup(z, s, d, c, p), "£%d.%02d" % (p // 100, p % 100))


def gen_code(args):
    return _gen(args, lambda z, s, d, c: U.config_code(z, s, d, c, args.op), args.op)


def explain(args):
    z = sup = dev = None
    counter = args.counter
    if args.keys:
        if not args.device:
            raise CliError("--keys needs --device")
        dev = parse_eui(args.device, "--device")
        z, sup = U.supplier_secret(args.keys, dev, parse_eui(args.supplier, "--supplier") if args.supplier else None)
    data = U.check(args.code, z, sup, dev, counter,
                   near=U.last_counter(args.keys, sup, dev) if z is not None else None)
    if z is not None and counter is None:
        counter = data.get("counter")
    text = U.explain(args.code, z, sup, dev, counter)
    refused = "invalid" in data or data.get("mac_ok") is False
    return {"text": text, "data": data, "exit_code": EXIT_REFUSED if refused else 0}
