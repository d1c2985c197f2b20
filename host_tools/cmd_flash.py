"""`smlab flash`: build the firmware and copy it to boards with mpremote, several at once, then verify
every file's SHA-256 on each board (host_tools/flash.py)."""
import os
import sys
import tempfile
import threading

from host_tools import boards, build, flash
from host_tools.cli import CliError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the device-root script, kept as source: MicroPython runs /main.py as a file at every boot
MAIN_PY = b"from firmware import app\napp.main()\n"


def register(sub):
    p = sub.add_parser("flash", help="copy firmware to boards (sim:NAME or serial ports) and verify hashes")
    p.add_argument("boards", nargs="+", help="sim:NAME or a serial port / pyserial URL")
    p.add_argument("--home", help="bench home for sim: boards")
    p.add_argument("--target", default="auto", choices=("auto",) + tuple(sorted(build.TARGETS)),
                   help="auto: host bytecode for virtual boards, esp32 for serial ports")
    p.add_argument("--no-verify", action="store_true")
    p.add_argument("--reset", action="store_true", help="reset virtual boards afterwards (run the new firmware)")
    p.set_defaults(func=run)


def device_root_files():
    return [("/main.py", MAIN_PY)]


def firmware_files(target, workdir):
    out = os.path.join(workdir, target)
    build.build(target, out)
    return flash.files_from_dir(out) + device_root_files()


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
        try:
            kind, port, vb = boards.resolve(spec, args.home)
        except boards.BoardError as e:
            raise CliError(str(e))
        target = args.target if args.target != "auto" else ("host" if kind == "sim" else "esp32")
        groups.setdefault(target, []).append(port)
        if vb:
            vbs[port] = vb
    progress = Progress(quiet=args.json)
    results, errors = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for target, ports in groups.items():
            try:
                files = firmware_files(target, tmp)
            except build.BuildError as e:
                raise CliError(str(e))
            r, e = flash.flash_many(ports, files, progress, verify=not args.no_verify)
            results.update(r)
            errors.update(e)
    if progress.tty and not progress.quiet:
        sys.stderr.write("\n")
    if args.reset:
        for port, vb in vbs.items():
            if port in results:
                vb.reset()
    if errors:
        raise CliError("; ".join("%s" % v for _, v in sorted(errors.items())))
    lines = ["%-40s %3d files %7d bytes %6.2fs  %s" % (p, r["files"], r["bytes"], r["seconds"],
                                                     "verified" if r["verified"] else "not verified")
             for p, r in sorted(results.items())]
    return {"text": "\n".join(lines), "data": {"boards": [results[p] for p in sorted(results)]}}
