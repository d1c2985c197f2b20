"""`smlab rtds`: run DCC's RTDS commands for a device role against a device and report conformance
(host_tools/gbcs/runner.py does the work).

    smlab rtds --role esme                         # the firmware role in process
    smlab rtds sim:rt --role esme                  # a virtual board (EUI-64 00DB1234567890A0)
    smlab rtds /dev/ttyUSB1 --console /dev/ttyUSB0 # a real board: optical port + REPL console
    smlab rtds --json --junit rtds.xml --out responses/ --use-case ECS42 --use-case ECS45

--json prints the summary {"role", "commands", "authenticated", "verified", "success_total",
"success_content_equal", "error_total", "error_content_equal", "use_cases": [...], ...}.
Exit status: 0 every command authenticated and its response verified, 1 the device refused a
command or a response did not verify, 2 bad input (no corpus, unknown role, unusable board).
"""
import os
import sys

from host_tools.cli.common import add_home
from host_tools.errors import EXIT_OK, EXIT_REFUSED, UsageError


def register(sub):
    p = sub.add_parser("rtds", help="RTDS conformance: feed DCC's reference commands for a role to a device",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("board", nargs="?",
                   help="sim:NAME (virtual board) or the optical serial port of a real board; "
                        "omitted: the firmware role in this process")
    p.add_argument("--role", default="esme", help="device role whose RTDS commands are run (default esme)")
    p.add_argument("--corpus", metavar="PATH",
                   help="RTDS folder of use-case folders, or the folder holding it and keystore/ "
                        "(default ../shared/interop/rtds)")
    p.add_argument("--use-case", action="append", metavar="NAME",
                   help="run only this use case (folder name like 7.1_ECS42, or ECS42); repeatable")
    p.add_argument("--console", metavar="PORT",
                   help="a real board's REPL console port (used to provision it and reset its state)")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML: one testcase per command")
    p.add_argument("--out", metavar="DIR",
                   help="write every response as DIR/<use case>/<name>_RESPONSE_GBCS.HEX (upper-case hex)")
    p.add_argument("--report", metavar="FILE", help="write the full report (every command) as JSON")
    p.add_argument("--progress", action="store_true",
                   help="a line per use case on stderr as it finishes (default when stderr is a terminal)")
    add_home(p)
    p.set_defaults(func=run)


def _device(args, role, keys):
    from host_tools.boards import registry
    from host_tools.gbcs import runner

    if not args.board:
        if args.console:
            raise UsageError("--console needs a board (the optical port of a real board)")
        return runner.InProcess(role, keys)
    if args.board.startswith("sim:"):
        kind, port, vb = registry.resolve(args.board, args.home)
        eui = registry.meta(vb.path).get("eui") or ""
        if eui.lower() != role.eui.hex():
            raise UsageError("virtual board %s has EUI-64 %s; the RTDS %s is %s (smlab sim start NAME --eui %s)"
                             % (args.board[4:], eui.upper() or "?", role.name, role.eui.hex().upper(),
                                role.eui.hex().upper()))
        return runner.virtual_board(vb, role, keys)
    kind, port, vb = registry.resolve(args.board, args.home)
    if not args.console:
        raise UsageError("a real board needs --console PORT (its REPL) to be provisioned and reset")
    return runner.real_board(port, args.console, role, keys)


def _line(u):
    return "%-44s %3d %5d %5d   %3d/%-3d   %3d/%-3d %7.2fs" % (
        u["name"][:44], u["commands"], u["authenticated"], u["verified"], u["success_content_equal"],
        u["success_total"], u["error_content_equal"], u["error_total"], u.get("seconds", 0))


HEADER = "%-44s %3s %5s %5s   %-7s   %-7s %8s" % ("use case", "cmd", "auth", "verif", "SUCCESS", "ERROR", "time")


def run(args):
    from host_tools.gbcs import corpus, runner

    role = runner.role(args.role)
    top, ks_dir = runner.locate(args.corpus)
    ucs = runner.use_cases(top, role.eui, args.use_case)
    keys = corpus.Keystore(ks_dir)
    dev = _device(args, role, keys)
    progress = None
    if args.progress or (not args.json and sys.stderr.isatty()):
        n = [0]

        def progress(u):
            n[0] += 1
            sys.stderr.write("[%d/%d] %s\n" % (n[0], len(ucs), _line(u)))
            sys.stderr.flush()
    rep = runner.run(dev, role, ucs, keys, out_dir=args.out, progress=progress)
    if args.junit:
        with open(args.junit, "w") as f:
            f.write(runner.junit_xml(rep))
    if args.report:
        runner.save_report(args.report, rep)
    bad = [(u["name"], r) for u in rep["use_cases"] for r in u["results"] if not r["verified"]]
    lines = [HEADER] + [_line(u) for u in rep["use_cases"]]
    lines.append("%-44s %3d %5d %5d   %3d/%-3d   %3d/%-3d %7.2fs" % (
        "total (%d use cases, %s)" % (rep["use_case_count"], rep["device"]), rep["commands"],
        rep["authenticated"], rep["verified"], rep["success_content_equal"], rep["success_total"],
        rep["error_content_equal"], rep["error_total"], rep["seconds"]))
    for name, r in bad[:20]:
        lines.append("FAILED %s/%s: %s" % (name, r["file"], r.get("refused") or r.get("reason")))
    if len(bad) > 20:
        lines.append("... and %d more (--report FILE lists every command)" % (len(bad) - 20))
    if args.out:
        lines.append("responses written under %s" % os.path.abspath(args.out))
    return {"text": "\n".join(lines), "data": runner.summary(rep),
            "exit_code": EXIT_OK if rep["ok"] else EXIT_REFUSED}
