"""`smlab sim`: start, stop, list, reset and power-cut virtual boards (host_tools/boards/vboard.py);
`sim load` / `sim clock` set a board's simulated consumer load and meter time (simctl.py)."""
import json

from host_tools.boards import registry
from host_tools.cli import CliError
from host_tools.cli.common import add_home


def register(sub):
    p = sub.add_parser("sim", help="virtual boards: start / stop / list / status / reset / cut / load / clock")
    add_home(p)
    s = p.add_subparsers(dest="action", metavar="ACTION", help="what to do with virtual boards")
    s.required = True
    st = s.add_parser("start", help="start virtual boards NAME... (created on first start)")
    st.add_argument("names", nargs="+", help="board names; a board is then sim:NAME")
    st.add_argument("--role", default="esme", choices=registry.ROLES, help="device role (default esme)")
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
    c.add_argument("name", help="board name")
    c.add_argument("writes", type=int, help="flash writes from the next boot before power is cut")
    c.add_argument("--clean", action="store_true", help="cut between writes (no torn write)")
    c.set_defaults(func=cut)
    fa = s.add_parser("fault", help="arm a device fault for the next command (RTDS ERROR variants)",
                      description="Arm, list or clear the test fault of a virtual board "
                                  "(firmware/core/faults.py): the command it hits answers items before K "
                                  "as usual, item K hardware-fault (1), later items other-reason (250); a "
                                  "DER command the role's failure answer. Stored on the board: one-shot, "
                                  "kept across resets until a command consumes it. The board is stopped at "
                                  "its REPL to write the store, then reset.")
    fa.add_argument("name", help="board name")
    fa.add_argument("--item", type=int, metavar="K", help="the item that fails (0 = the first)")
    fa.add_argument("--counter", type=int, default=0, metavar="N",
                    help="hit the command with this originator counter (default: the next command)")
    fa.add_argument("--clear", action="store_true", help="disarm every fault")
    fa.set_defaults(func=fault)
    _register_meter(s)


def _names(args):
    return args.names or registry.list_vboards(args.home)


def _table(rows, home):
    lines = ["%-10s %-5s %-16s %-8s %5s  %s" % ("name", "role", "eui", "state", "boots", "console / optical")]
    for r in rows:
        lines.append("%-10s %-5s %-16s %-8s %5s  %s  %s" % (r["name"], r["role"], r["eui"], r["state"],
                                                             r["boots"], r["console"], r["optical"]))
    lines.append("(home %s)" % registry.home(home))
    return "\n".join(lines)


def _result(rows, args):
    return {"text": _table(rows, args.home), "data": rows}


def start(args):
    if args.eui and len(args.names) != 1:
        raise CliError("--eui names one board")
    rows = []
    for name in args.names:
        registry.start_vboard(name, args.home, args.role, args.eui, args.heap, args.flash_kb)
        rows.append(registry.describe(name, args.home))
    return _result(rows, args)


def stop(args):
    names = _names(args)
    for n in names:
        registry.vboard(n, args.home).stop()
    return {"text": "stopped %d board(s) under %s" % (len(names), registry.home(args.home)),
            "data": {"stopped": names}}


def reset(args):
    rows = []
    for n in _names(args):
        vb = registry.vboard(n, args.home)
        if not vb.running():
            raise CliError("virtual board %s is not running" % n)
        vb.reset()
        rows.append(registry.describe(n, args.home))
    return _result(rows, args)


def status(args):
    return _result([registry.describe(n, args.home) for n in _names(args)], args)


def list_(args):
    rows = [registry.describe(n, args.home) for n in registry.list_vboards(args.home)]
    if not rows:
        return {"text": "no virtual boards under %s" % registry.home(args.home), "data": rows}
    return _result(rows, args)


def cut(args):
    vb = registry.vboard(args.name, args.home)
    if not vb.running():
        raise CliError("virtual board %s is not running" % args.name)
    vb.cut(args.writes, torn=not args.clean)
    return {"text": "%s: power cut armed after %d flash writes%s; the board reset and counts from this boot"
                    % (args.name, args.writes, "" if args.clean else " (torn)"),
            "data": {"name": args.name, "writes": args.writes, "torn": not args.clean}}


def _register_meter(s):
    """`sim load` and `sim clock`: the simulated consumer and meter time (host_tools/boards/simctl.py)."""
    ld = s.add_parser("load", help="set the simulated consumer load of a board (kW, or a daily profile)")
    ld.add_argument("name", help="board name")
    g = ld.add_mutually_exclusive_group(required=True)
    g.add_argument("--kw", type=float, help="constant load in kW (negative: export)")
    g.add_argument("--profile", help="daily profile HOUR:KW,... ascending, e.g. 0:0.3,7:2,9:0.5,17:3,23:0.3")
    ld.set_defaults(func=load)
    ck = s.add_parser("clock", help="the board's meter time: speed it up, move it on, set it")
    ck.add_argument("name", help="board name")
    ck.add_argument("--rate", type=int, help="meter seconds per real second (1: real time; 3600: a day in 24 s)")
    ck.add_argument("--advance", type=int, help="move meter time forward by this many seconds")
    ck.add_argument("--set", dest="set_to", type=int, help="set meter time (seconds since 1970, UTC)")
    ck.set_defaults(func=clock)


def _board_dir(args):
    vb = registry.vboard(args.name, args.home)
    return vb.path


def load(args):
    from host_tools.boards import simctl

    path = _board_dir(args)
    if args.profile:
        try:
            prof = simctl.parse_profile(args.profile)
        except ValueError:
            raise CliError("--profile: HOUR:KW,... e.g. 0:0.3,7:2")
        s = simctl.set_load(path, profile=prof)
    else:
        s = simctl.set_load(path, watts=int(round(args.kw * 1000)))
    return {"text": "%s: load %s" % (args.name, json.dumps(s["load"])), "data": s}


def clock(args):
    from host_tools.boards import simctl
    from firmware.meter import clock as mclock

    if args.rate is not None and args.rate < 0:
        raise CliError("--rate must be >= 0")
    path = _board_dir(args)
    s = simctl.clock(path, rate=args.rate, advance=args.advance, set_to=args.set_to)
    t = simctl.meter_time(path)
    return {"text": "%s: meter time %s UTC, rate %d" % (args.name, mclock.text(t), s["clock"]["rate"]),
            "data": dict(s, meter_time=t)}


def fault(args):
    """Arm (--item), clear (--clear) or list the faults of a virtual board (simctl.faults)."""
    from host_tools.boards import simctl

    if args.clear and args.item is not None:
        raise CliError("--item and --clear exclude each other")
    if args.item is not None and not (0 <= args.item <= 255 and 0 <= args.counter < 1 << 64):
        raise CliError("--item is 0..255 and --counter 0..2^64-1")
    vb = registry.vboard(args.name, args.home)
    if not vb.running():
        raise CliError("virtual board %s is not running" % args.name)
    armed = simctl.faults(vb, arm=None if args.item is None else (args.item, args.counter), clear=args.clear)
    text = "%s: %s" % (args.name, "; ".join(
        "item %d of %s" % (k, "the next command" if c == 0 else "the command with counter %d" % c)
        for c, k in armed) or "no fault armed")
    return {"text": text, "data": {"name": args.name, "armed": [{"counter": c, "item": k} for c, k in armed]}}
