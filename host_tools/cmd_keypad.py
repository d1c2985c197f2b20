"""`smlab keypad`: type keys (a UTRN or configuration code) into a virtual board's keypad and show what
its display answers. The keypad is a pty of the virtual board; the display prints to its console."""
import os
import time

import serial

from host_tools import boards
from host_tools.cli import CliError

DISPLAY = "[display] "


def register(sub):
    p = sub.add_parser("keypad", help="type keys into a virtual board's keypad, print the display")
    p.add_argument("board", help="sim:NAME")
    p.add_argument("keys", help="keys to type, e.g. a 20-digit code; '#' (enter) is added unless present")
    p.add_argument("--home")
    p.add_argument("--timeout", type=float, default=10.0)
    p.set_defaults(func=run)


def display_lines(vb, offset):
    with open(os.path.join(vb.path, "console.log"), "rb") as f:
        f.seek(offset)
        data = f.read().decode(errors="replace")
    return [ln[len(DISPLAY):].strip() for ln in data.splitlines() if ln.startswith(DISPLAY)]


def log_size(vb):
    log = os.path.join(vb.path, "console.log")
    return os.path.getsize(log) if os.path.exists(log) else 0


def reset_to_app(vb, timeout=60.0):
    """Reset a virtual board and wait until its firmware shows READY (the app is polling keys)."""
    offset = log_size(vb)
    vb.reset()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = display_lines(vb, offset)
        if any(ln.startswith(("READY", "NOT PROVISIONED")) for ln in lines):
            return lines
        time.sleep(0.01)
    raise TimeoutError("%s: firmware not READY %.0f s after reset" % (vb.path, timeout))


def type_keys(vb, keys, timeout=10.0, expect=1):
    """Type keys on the board's keypad; return the display lines it printed (waits for `expect`)."""
    offset = log_size(vb)
    with serial.Serial(os.path.realpath(vb.keypad), timeout=1) as ser:
        ser.write(keys.encode())
        ser.flush()
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        lines = display_lines(vb, offset)
        if len(lines) >= expect:
            return lines
        time.sleep(0.005)
    return lines


def run(args):
    if not args.board.startswith("sim:"):
        raise CliError("keypad drives virtual boards (sim:NAME); a real board has physical keys")
    kind, port, vb = boards.resolve(args.board, args.home)
    keys = args.keys if args.keys.endswith(("#", "\n")) else args.keys + "#"
    lines = type_keys(vb, keys, args.timeout)
    if not lines:
        raise CliError("%s: no display output within %.0f s (is the firmware running? smlab sim reset)"
                       % (args.board, args.timeout))
    return {"text": "\n".join(lines), "data": {"display": lines}}
