"""`smlab provision`: identity, role, trust anchors, keys and thresholds onto a board."""
from host_tools.boards import registry
from host_tools.cli import warn
from host_tools.cli.common import add_home, add_keys, keys
from host_tools.errors import UsageError
from host_tools.keys import provision
from host_tools.util import parse_eui, private_path_warning


def register(sub):
    p = sub.add_parser("provision", help="write identity, keys, trust anchors and thresholds to a board")
    p.add_argument("board", help="sim:NAME or a serial port")
    add_keys(p, what="key store (smlab pki create/import)")
    p.add_argument("--eui", help="device EUI-64 (default: the virtual board's EUI)")
    p.add_argument("--supplier", help="supplier EUI-64 when the key store has several")
    p.add_argument("--role", default="esme",
                   help="device role the board boots as (a name in firmware.roles.REGISTRY; default esme)")
    add_home(p)
    p.add_argument("--max-credit", type=int, help="maximum credit per top-up, pennies")
    p.add_argument("--max-balance", type=int, help="maximum meter balance, pennies")
    p.add_argument("--lock-fails", type=int, help="failed code entries that start a lockout")
    p.add_argument("--reset", action="store_true", help="reset the board afterwards")
    p.set_defaults(func=run)


def run(args):
    kind, port, vb = registry.resolve(args.board, args.home)
    eui = registry.device_eui(vb, args.eui)
    sup = parse_eui(args.supplier, "--supplier", lookup=True) if args.supplier else None
    utrn = {k: v for k, v in (("max_credit", args.max_credit), ("max_balance", args.max_balance),
                              ("lock_fails", args.lock_fails)) if v is not None}
    ks = keys(args)
    from firmware.roles import REGISTRY

    if args.role not in REGISTRY:
        raise UsageError("unknown role %r (this firmware has: %s)" % (args.role, ", ".join(sorted(REGISTRY))))
    p = provision.payload(ks, eui, sup, role=args.role, utrn=utrn)
    if p["_generated_ds"]:
        w = private_path_warning(ks)
        if w:
            warn(w)
    summary = provision.provision_board(port, p)
    if args.reset and vb:
        vb.reset()
    text = "%s: provisioned %s as %s with %d trust anchor cells (supplier %s)%s%s" % (
        args.board, summary["eui"], summary["role"], summary["cells"], p["_supplier"],
        "; generated a device DS key (saved in the key store)" if p["_generated_ds"] else "",
        "; reset" if args.reset and vb else "")
    return {"text": text, "data": dict(summary, supplier=p["_supplier"], generated_ds=p["_generated_ds"])}
