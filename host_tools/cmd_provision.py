"""`smlab provision`: identity, role, trust anchors, keys and thresholds onto a board."""
from host_tools import boards, provision
from host_tools.cli import CliError


def register(sub):
    p = sub.add_parser("provision", help="write identity, keys, trust anchors and thresholds to a board")
    p.add_argument("board", help="sim:NAME or a serial port")
    p.add_argument("--keys", required=True, help="key store directory (smlab pki create/import)")
    p.add_argument("--eui", help="device EUI-64 (default: the virtual board's EUI)")
    p.add_argument("--supplier", help="supplier EUI-64 when the key store has several")
    p.add_argument("--home")
    p.add_argument("--max-credit", type=int, help="maximum credit per top-up, pennies")
    p.add_argument("--max-balance", type=int, help="maximum meter balance, pennies")
    p.add_argument("--lock-fails", type=int, help="failed code entries that start a lockout")
    p.add_argument("--reset", action="store_true", help="reset the board afterwards")
    p.set_defaults(func=run)


def run(args):
    kind, port, vb = boards.resolve(args.board, args.home)
    eui_hex = args.eui or (boards.meta(vb.path).get("eui") if vb else None)
    if not eui_hex:
        raise CliError("--eui is required for a real board")
    try:
        eui = bytes.fromhex(eui_hex)
        sup = bytes.fromhex(args.supplier) if args.supplier else None
    except ValueError:
        raise CliError("EUI-64 must be hex")
    utrn = {k: v for k, v in (("max_credit", args.max_credit), ("max_balance", args.max_balance),
                              ("lock_fails", args.lock_fails)) if v is not None}
    try:
        p = provision.payload(args.keys, eui, sup, utrn=utrn)
        summary = provision.provision_board(port, p)
    except provision.ProvisionError as e:
        raise CliError(str(e))
    if args.reset and vb:
        vb.reset()
    text = "%s: provisioned %s as %s with %d trust anchor cells (supplier %s)%s" % (
        args.board, summary["eui"], summary["role"], summary["cells"], p["_supplier"],
        "; generated a device DS key (saved in the key store)" if p["_generated_ds"] else "")
    return {"text": text, "data": dict(summary, supplier=p["_supplier"], generated_ds=p["_generated_ds"])}
