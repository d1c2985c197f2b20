"""`smlab logs`: read a board's security, UTRN and event logs from its durable store and decode the
GBCS alert/event codes in them (names from firmware/alert_names.py).

Reading goes through the REPL (mpremote raw REPL), which interrupts the running firmware as on a real
board; a virtual board is reset afterwards so its firmware runs again (--no-resume leaves it at the
REPL)."""
import json
import re

from firmware import alert_names
from host_tools import boards
from host_tools.cli import CliError
from host_tools.flash import Board, FlashError

LOGS = ("seclog", "utrn", "event")
_CODE = re.compile(r"\b(?:0x)?([0-9A-F]{4})\b")
# Runs at the board's REPL next to the firmware's loaded code, so it prints one entry per line
# instead of building one JSON text of every log (on a 224K virtual board that text did not fit).
_READ = ("import json, board\n_s = board.get().store()\n"
         "for _n in %r:\n"
         " print('LOG ' + _n)\n"
         " for _e in _s.log(_n).entries():\n"
         "  print('E ' + json.dumps(_e if isinstance(_e, str) else _e.hex()))\n"
         "print('LOGS END')\n")


def register(sub):
    p = sub.add_parser("logs", help="read and decode a board's security / UTRN / event logs")
    p.add_argument("board", help="sim:NAME or a serial port")
    p.add_argument("--home")
    p.add_argument("--log", choices=LOGS, action="append", help="only this log (repeatable)")
    p.add_argument("--no-resume", action="store_true", help="leave a virtual board at the REPL")
    p.set_defaults(func=run)


def decode(entry):
    """An entry with every known GBCS code named: '8F60 ...' -> '8F60 ... [0x8F60 unusual ...]'."""
    names = []
    for m in _CODE.finditer(entry):
        code = int(m.group(1), 16)
        if code in alert_names.NAMES and code not in [c for c, _ in names]:
            names.append((code, alert_names.NAMES[code]))
    return entry + "".join("  [0x%04X %s]" % c for c in names), [c for c, _ in names]


def read_logs(port, which=LOGS):
    """{log name: [entry text or hex]} read over the REPL of the board at `port` (this stops the
    firmware's main loop: the caller resets the board afterwards)."""
    with Board(port) as b:
        out = b.exec(_READ % (tuple(which),)).decode()
    logs, cur = {}, None
    for line in out.splitlines():
        if line.startswith("LOG "):
            cur = logs.setdefault(line[4:].strip(), [])
        elif line.startswith("E ") and cur is not None:
            cur.append(json.loads(line[2:]))
        elif line.strip() == "LOGS END":
            return logs
    raise CliError("board did not return its logs: %s" % out.strip()[-200:])


def run(args):
    kind, port, vb = boards.resolve(args.board, args.home)
    try:
        logs = read_logs(port, args.log or LOGS)
    except FlashError as e:
        raise CliError(str(e))
    finally:  # the read stopped the firmware: resume it whether or not the read worked
        if vb and not args.no_resume:
            from host_tools.cmd_keypad import reset_to_app

            reset_to_app(vb)
    lines, data = [], {}
    for name in args.log or LOGS:
        ents = logs.get(name, [])
        lines.append("== %s (%d entries)" % (name, len(ents)))
        data[name] = []
        for e in ents:
            text, codes = decode(e)
            lines.append("  " + text)
            data[name].append({"entry": e, "codes": ["0x%04X" % c for c in codes]})
    return {"text": "\n".join(lines), "data": data}
