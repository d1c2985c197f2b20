"""Read a board's logs from its durable store, and name the GBCS alert/event codes in them (names
from firmware/alert_names.py): the security logs kept per source (firmware/core/seclog.py: "seclog"
GBCS authentication, "optlog" the optical port, "menulog" the engineering menu; repeats shown as
`text [xN]`), the UTRN log and the event log.

Reading goes through the board's REPL (mpremote raw REPL), which interrupts the running firmware as
on a real board: the caller resets the board afterwards (a virtual board: VBoard.reset_to_app)."""
import json
import re

from firmware import alert_names
from firmware.core import seclog
from host_tools.boards.flash import RawRepl, FlashError

# the security logs per source (GBCS, optical port, engineering menu), then the UTRN and event logs
LOGS = seclog.NAMES + ("utrn", "event")
_CODE = re.compile(r"\b(?:0x)?([0-9A-F]{4})\b")
# Runs at the board's REPL next to the firmware's loaded code, so it prints one entry per line
# instead of building one JSON text of every log (on a 224K virtual board that text did not fit).
# Security logs are read in their coalesced form (repeats of one event as one entry with a count).
_READ = ("import json, board\nfrom firmware.core import seclog\n_s = board.get().store()\n"
         "for _n in %r:\n"
         " print('LOG ' + _n)\n"
         " for _e in seclog.read(_s, _n):\n"
         "  print('E ' + json.dumps(_e if isinstance(_e, str) else _e.hex()))\n"
         "print('LOGS END')\n")


def decode(entry):
    """An entry with every known GBCS code named: '8F60 ...' -> '8F60 ... [0x8F60 unusual ...]',
    and the list of codes named."""
    names = []
    for m in _CODE.finditer(entry):
        code = int(m.group(1), 16)
        if code in alert_names.NAMES and code not in [c for c, _ in names]:
            names.append((code, alert_names.NAMES[code]))
    return entry + "".join("  [0x%04X %s]" % c for c in names), [c for c, _ in names]


def read_logs(port, which=LOGS):
    """{log name: [entry text or hex]} read over the REPL of the board at `port` (this stops the
    firmware's main loop: the caller resets the board afterwards)."""
    with RawRepl(port) as b:
        out = b.exec(_READ % (tuple(which),)).decode()
    logs, cur = {}, None
    for line in out.splitlines():
        if line.startswith("LOG "):
            cur = logs.setdefault(line[4:].strip(), [])
        elif line.startswith("E ") and cur is not None:
            cur.append(json.loads(line[2:]))
        elif line.strip() == "LOGS END":
            return logs
    raise FlashError("%s: board did not return its logs: %s" % (port, out.strip()[-200:]))
