"""`smlab sim`: start, stop, list, reset and power-cut virtual boards (host_tools/vboard.py)."""
import os

from host_tools import boards
from host_tools.cli import CliError

ROLES = ("esme", "gsme", "chf")


def register(sub):
    p = sub.add_parser("sim", help="virtual boards: start / stop / list / reset / cut")
    p.add_argument("--home", help="bench home (default $SMLAB_HOME or ./.smlab)")
    s = p.add_subparsers(dest="action", metavar="ACTION")
    s.required = True
    st = s.add_parser("start", help="start virtual boards NAME...")
    st.add_argument("names", nargs="+")
    st.add_argument("--role", default="esme", choices=ROLES)
    st.add_argument("--eui", help="EUI-64 (hex); one board only")
    st.add_argument("--heap", default="512K",
                    help="MicroPython heap (default 512K: the app as .mpy needs ~175 KB; see docs/board-memory.md)")
    st.add_argument("--flash-kb", type=int, default=2048,
                    help="flash image size (default 2048: a 4 MB ESP32's filesystem; firmware, the G "
                         "table and the supplier's 148 KB comb table built at provisioning need ~600 KB)")
    st.set_defaults(func=start)
    for name, fn, hlp in (("stop", stop, "stop boards (image kept)"), ("reset", reset, "reset boards"),
                          ("status", status, "status of boards")):
        q = s.add_parser(name, help=hlp)
        q.add_argument("names", nargs="*", help="board names (default: all)")
        q.set_defaults(func=fn)
    ls = s.add_parser("list", help="list virtual boards with role, EUI, state and ports")
    ls.set_defaults(func=list_)
    c = s.add_parser("cut", help="cut power after N flash writes (torn unless --clean)")
    c.add_argument("name")
    c.add_argument("writes", type=int)
    c.add_argument("--clean", action="store_true")
    c.set_defaults(func=cut)


def _names(args):
    return args.names or boards.list_vboards(args.home)


def _row(name, home):
    d = boards.board_dir(name, home)
    vb = boards.vboard(name, home)
    m = boards.meta(d)
    st = vb.status()
    return {"name": name, "role": m.get("role"), "eui": m.get("eui"),
            "state": st.get("state", "stopped") if vb.running() else "stopped",
            "boots": st.get("boots", 0), "console": vb.console, "optical": vb.optical,
            "keypad": vb.keypad, "image": vb.image}


def _table(rows):
    lines = ["%-10s %-5s %-16s %-8s %5s  %s" % ("name", "role", "eui", "state", "boots", "console / optical")]
    for r in rows:
        lines.append("%-10s %-5s %-16s %-8s %5s  %s  %s" % (r["name"], r["role"], r["eui"], r["state"],
                                                             r["boots"], r["console"], r["optical"]))
    return "\n".join(lines)


def start(args):
    if args.eui and len(args.names) != 1:
        raise CliError("--eui names one board")
    rows = []
    for i, name in enumerate(args.names):
        d = boards.board_dir(name, args.home)
        m = boards.meta(d)
        eui = (args.eui or m.get("eui") or "%02x534d4c01%02x%04x" % (2, ROLES.index(args.role) + 1,
                                                                     _serial(args.home, name))).lower()
        if len(eui) != 16:
            raise CliError("EUI-64 must be 16 hex digits: %s" % eui)
        boards.write_meta(d, {"role": args.role, "eui": eui})
        from host_tools.vboard import VBoard

        VBoard(d, flash_kb=args.flash_kb, heap=args.heap, eui64=eui).start()
        rows.append(_row(name, args.home))
    return {"text": _table(rows), "data": rows}


def _serial(home, name):
    # stable per name: the board's position among existing boards, counted from 1
    names = boards.list_vboards(home)
    return (names.index(name) if name in names else len(names)) + 1


def stop(args):
    names = _names(args)
    for n in names:
        boards.vboard(n, args.home).stop()
    return {"text": "stopped %d board(s)" % len(names), "data": {"stopped": names}}


def reset(args):
    rows = []
    for n in _names(args):
        vb = boards.vboard(n, args.home)
        if not vb.running():
            raise CliError("virtual board %s is not running" % n)
        vb.reset()
        rows.append(_row(n, args.home))
    return {"text": _table(rows), "data": rows}


def status(args):
    rows = [_row(n, args.home) for n in _names(args)]
    return {"text": _table(rows), "data": rows}


def list_(args):
    rows = [_row(n, args.home) for n in boards.list_vboards(args.home)]
    return {"text": _table(rows) if rows else "no virtual boards under %s" % boards.home(args.home),
            "data": rows}


def cut(args):
    vb = boards.vboard(args.name, args.home)
    if not vb.running():
        raise CliError("virtual board %s is not running" % args.name)
    vb.cut(args.writes, torn=not args.clean)
    return {"text": "%s: power cut armed after %d flash writes%s" % (
        args.name, args.writes, "" if args.clean else " (torn)"),
        "data": {"name": args.name, "writes": args.writes, "torn": not args.clean}}
