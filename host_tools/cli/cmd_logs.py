"""`smlab logs`: read a board's security, UTRN and event logs and name the GBCS alert/event codes in
them (host_tools/boards/logs.py). Reading interrupts the firmware, as on a real board; a virtual
board is reset afterwards so its firmware runs again (--no-resume leaves it at the REPL)."""
from host_tools.boards import logs, registry
from host_tools.cli.common import add_home


def register(sub):
    p = sub.add_parser("logs", help="read and decode a board's security / UTRN / event logs")
    p.add_argument("board", help="sim:NAME or a serial port")
    add_home(p)
    p.add_argument("--log", choices=logs.LOGS, action="append", help="only this log (repeatable)")
    p.add_argument("--no-resume", action="store_true", help="leave a virtual board at the REPL")
    p.set_defaults(func=run)


def run(args):
    kind, port, vb = registry.resolve(args.board, args.home)
    try:
        got = logs.read_logs(port, args.log or logs.LOGS)
    finally:  # the read stopped the firmware: resume it whether or not the read worked
        if vb and not args.no_resume:
            vb.reset_to_app()
    lines, data = [], {}
    for name in args.log or logs.LOGS:
        ents = got.get(name, [])
        lines.append("== %s (%d entries)" % (name, len(ents)))
        data[name] = []
        for e in ents:
            text, codes = logs.decode(e)
            lines.append("  " + text)
            data[name].append({"entry": e, "codes": ["0x%04X" % c for c in codes]})
    return {"text": "\n".join(lines), "data": data}
