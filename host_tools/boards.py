"""Where `smlab` finds boards: virtual boards by name under a bench home, real ones by port.

A board spec is either `sim:NAME` (the virtual board in <home>/boards/NAME, started with
`smlab sim start NAME`) or a serial port path / pyserial URL of a real board (/dev/ttyUSB0).
The home is --home, else $SMLAB_HOME, else ./.smlab.
"""
import json
import os

from host_tools.vboard import VBoard


class BoardError(Exception):
    """Unknown or unusable board spec (one-line reason)."""


def home(path=None):
    return os.path.abspath(path or os.environ.get("SMLAB_HOME") or ".smlab")


def board_dir(name, home_dir=None):
    if not name or "/" in name or name.startswith("."):
        raise BoardError("bad board name %r" % name)
    return os.path.join(home(home_dir), "boards", name)


def meta(path):
    try:
        with open(os.path.join(path, "smlab.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def write_meta(path, data):
    os.makedirs(path, exist_ok=True)
    tmp = os.path.join(path, "smlab.json.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(path, "smlab.json"))


def vboard(name, home_dir=None):
    d = board_dir(name, home_dir)
    if not os.path.isdir(d):
        raise BoardError("no virtual board %r under %s (smlab sim start %s)" % (name, home(home_dir), name))
    m = meta(d)
    return VBoard(d, eui64=m.get("eui"))


def list_vboards(home_dir=None):
    top = os.path.join(home(home_dir), "boards")
    if not os.path.isdir(top):
        return []
    return [n for n in sorted(os.listdir(top)) if os.path.isdir(os.path.join(top, n))]


def resolve(spec, home_dir=None):
    """(kind, port, VBoard or None) for a board spec."""
    if spec.startswith("sim:"):
        vb = vboard(spec[4:], home_dir)
        if not vb.running():
            raise BoardError("virtual board %s is not running (smlab sim start %s)" % (spec[4:], spec[4:]))
        return "sim", vb.console, vb
    if "://" in spec or os.path.exists(spec):
        return "serial", spec, None
    raise BoardError("no such board or port: %s" % spec)
