"""`smlab keypad`: type keys (a UTRN or configuration code) into a virtual board's keypad and show what
its display answers. Exit status 1 when the display shows REJECTED."""
from host_tools.boards import registry
from host_tools.cli import CliError
from host_tools.cli.common import add_home
from host_tools.errors import EXIT_REFUSED


def register(sub):
    p = sub.add_parser("keypad", help="type keys into a virtual board's keypad, print the display")
    p.add_argument("board", help="sim:NAME")
    p.add_argument("keys", help="keys to type, e.g. a 20-digit code; '#' (enter) is added unless present")
    add_home(p)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the display (default 10)")
    p.set_defaults(func=run)


def run(args):
    if not args.board.startswith("sim:"):
        raise CliError("keypad drives virtual boards (sim:NAME); a real board has physical keys")
    kind, port, vb = registry.resolve(args.board, args.home)
    keys = args.keys if args.keys.endswith(("#", "\n")) else args.keys + "#"
    lines = vb.type_keys(keys, args.timeout)
    if not lines:
        raise CliError("%s: no display output within %.0f s (is the firmware running? smlab sim reset)"
                       % (args.board, args.timeout))
    refused = any(ln.startswith("REJECTED") for ln in lines)
    return {"text": "\n".join(lines), "data": {"display": lines, "refused": refused},
            "exit_code": EXIT_REFUSED if refused else 0}
