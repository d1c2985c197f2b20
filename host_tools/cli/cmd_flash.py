"""`smlab flash`: build the firmware and copy it to boards with mpremote, several at once, then verify
every file's SHA-256 on each board (host_tools/boards/flash.py)."""
import os
import sys
import tempfile
import threading

from host_tools.boards import build, flash, registry
from host_tools.cli import CliError
from host_tools.cli.common import add_home


def register(sub):
    p = sub.add_parser("flash", help="copy firmware to boards (sim:NAME or serial ports) and verify hashes")
    p.add_argument("boards", nargs="+", help="sim:NAME or a serial port / pyserial URL")
    add_home(p)
    p.add_argument("--target", default="auto", choices=("auto",) + tuple(sorted(build.TARGETS)),
                   help="auto: host bytecode for virtual boards, esp32 for serial ports")
    p.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check on the board")
    p.add_argument("--reset", action="store_true",
                   help="reset virtual boards afterwards and wait until the new firmware runs")
    p.set_defaults(func=run)


class Progress:
    """One status line per board; redrawn in place on a terminal, milestones only otherwise."""

    def __init__(self, stream=sys.stderr, quiet=False):
        self.stream, self.quiet = stream, quiet
        self.tty = stream.isatty()
        self.state = {}
        self.lock = threading.Lock()

    def __call__(self, port, done, total, phase):
        with self.lock:
            pct = 100 * done // max(total, 1)
            prev = self.state.get(port)
            self.state[port] = (phase, pct)
            if self.quiet:
                return
            if self.tty:
                line = "  ".join("%s %s %3d%%" % (os.path.basename(os.path.dirname(p)) or p, ph, v)
                                 for p, (ph, v) in sorted(self.state.items()))
                self.stream.write("\r" + line[:200])
                self.stream.flush()
            elif pct == 100 and prev != (phase, 100):
                self.stream.write("%s: %s done\n" % (port, phase))


def run(args):
    groups = {}
    vbs = {}
    for spec in args.boards:
        kind, port, vb = registry.resolve(spec, args.home)
        target = args.target if args.target != "auto" else ("host" if kind == "sim" else "esp32")
        groups.setdefault(target, []).append(port)
        if vb:
            vbs[port] = vb
    progress = Progress(quiet=args.json)
    results, errors = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for target, ports in groups.items():
            files = flash.firmware_files(target, tmp)
            r, e = flash.flash_many(ports, files, progress, verify=not args.no_verify)
            results.update(r)
            errors.update(e)
    if progress.tty and not progress.quiet:
        sys.stderr.write("\n")
    reset = {}
    if args.reset:
        for port, vb in vbs.items():
            if port in results:
                vb.reset()
                reset[port] = vb.state()
    for port, r in results.items():
        r["reset"] = port in reset
        if port in reset:
            r["state"] = reset[port]
    if errors:
        raise CliError("; ".join("%s" % v for _, v in sorted(errors.items())))
    lines = ["%-40s %3d files %7d bytes %6.2fs  %s%s" % (
        p, r["files"], r["bytes"], r["seconds"], "verified" if r["verified"] else "not verified",
        "; reset (%s)" % r["state"] if r["reset"] else "") for p, r in sorted(results.items())]
    if args.reset and len(reset) < len(results):
        lines.append("serial ports are not reset by --reset: press the board's reset button "
                     "(or smlab provision --reset)")
    return {"text": "\n".join(lines), "data": {"boards": [results[p] for p in sorted(results)]}}
