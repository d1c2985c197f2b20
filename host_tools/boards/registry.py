"""Where smlab finds boards: virtual boards by name under the smlab home, real ones by port.

A board spec is either `sim:NAME` (the virtual board in <home>/boards/NAME, started with
`smlab sim start NAME`) or a serial port path / pyserial URL of a real board (/dev/ttyUSB0).
The home is --home, else $SMLAB_HOME, else $XDG_DATA_HOME/smlab (~/.local/share/smlab): the same
whatever folder a command runs from.
"""
import json
import os

from host_tools.boards.vboard import VBoard
from host_tools.errors import SmlabError, UsageError
from host_tools.util import parse_eui, smlab_home, write_atomic

ROLES = ("esme", "gsme", "chf")


class BoardError(SmlabError):
    """Unknown or unusable board spec (one-line reason)."""


def home(path=None):
    return smlab_home(path)


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
    write_atomic(os.path.join(path, "smlab.json"), json.dumps(data, indent=1, sort_keys=True), sync=False)


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


def optical_port(spec, home_dir=None):
    """(optical port path, VBoard or None): a virtual board's optical pty, else the port given."""
    kind, port, vb = resolve(spec, home_dir)
    return (os.path.realpath(vb.optical) if vb else port), vb


def device_eui(vb, eui=None):
    """The device EUI-64 (8 bytes): `eui` when given, else the virtual board's own."""
    if eui:
        return parse_eui(eui, "--eui")
    if vb is None:
        raise UsageError("--eui is required for a real board")
    return parse_eui(meta(vb.path).get("eui") or "", "the board's EUI-64")


def default_eui(role, serial):
    """A virtual board's EUI-64 in the bench scheme (docs/pki.md): 02 53 4D 4C 01 <type> <serial>."""
    return "%02x534d4c01%02x%04x" % (2, ROLES.index(role) + 1, serial)


def _serial(home_dir, name):
    # stable per name: the board's position among existing boards, counted from 1
    names = list_vboards(home_dir)
    return (names.index(name) if name in names else len(names)) + 1


def start_vboard(name, home_dir=None, role="esme", eui=None, heap="512K", flash_kb=2048):
    """Start virtual board `name` (created on first start); its EUI-64 is `eui`, else the one it
    had, else the next in the bench scheme. Returns the VBoard."""
    if role not in ROLES:
        raise UsageError("role must be one of %s" % ", ".join(ROLES))
    d = board_dir(name, home_dir)
    m = meta(d)
    eui = (eui or m.get("eui") or default_eui(role, _serial(home_dir, name))).lower()
    parse_eui(eui, "--eui")
    write_meta(d, dict(m, role=role, eui=eui))
    if role == "chf":
        ensure_wan(d)
    vb = VBoard(d, flash_kb=flash_kb, heap=heap, eui64=eui)
    vb.start()
    return vb


def describe(name, home_dir=None):
    """One virtual board as a dict: name, role, EUI-64, state (stopped, starting, booting, repl or
    running: the firmware's main loop is running), boots and its ports."""
    d = board_dir(name, home_dir)
    vb = vboard(name, home_dir)
    m = meta(d)
    st = vb.status()
    return {"name": name, "role": m.get("role"), "eui": m.get("eui"), "state": vb.state(),
            "boots": st.get("boots", 0), "console": vb.console, "optical": vb.optical,
            "keypad": vb.keypad, "image": vb.image, "wan": wan_text(d)}


def new_power_cuts(home_dir=None):
    """[(board name, event)] for power cuts that fired since the last call, on every virtual board
    under the home (each is reported once: the count reported is kept in the board's smlab.json)."""
    out = []
    for name in list_vboards(home_dir):
        d = board_dir(name, home_dir)
        cuts = VBoard(d).power_cuts()
        m = meta(d)
        seen = m.get("cuts_reported", 0)
        if len(cuts) > seen:
            out += [(name, c) for c in cuts[seen:]]
            write_meta(d, dict(m, cuts_reported=len(cuts)))
        elif len(cuts) < seen:  # the log was cleared
            write_meta(d, dict(m, cuts_reported=len(cuts)))
    return out


def wan_config(path):
    """A hub board's WAN endpoint {"host", "port"} (its wan.json, read by the ROM), or None."""
    try:
        with open(os.path.join(path, "wan.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def wan_text(path):
    w = wan_config(path)
    return "%s:%d" % (w["host"], w["port"]) if w else None


def ensure_wan(path):
    """Give a hub board a WAN endpoint on loopback (a free TCP port, kept in its wan.json across
    restarts; docs/wan.md). Returns the config."""
    import socket

    w = wan_config(path)
    if w:
        return w
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    w = {"host": "127.0.0.1", "port": port}
    os.makedirs(path, exist_ok=True)
    write_atomic(os.path.join(path, "wan.json"), json.dumps(w), sync=False)
    return w


def hub_address(spec=None, home_dir=None, wan=None):
    """(host, port, hub EUI-64 bytes or None) of a Comms Hub's WAN endpoint: `wan` "HOST:PORT" when
    given, else the virtual hub `spec` (sim:NAME or NAME), else the only hub board under the home."""
    if wan:
        host, _, port = wan.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError("--wan must be HOST:PORT")
        return host, int(port), None
    if spec is None:
        hubs = [n for n in list_vboards(home_dir) if meta(board_dir(n, home_dir)).get("role") == "chf"]
        if len(hubs) != 1:
            raise BoardError("%s hub boards under %s: name one with --hub NAME"
                             % ("no" if not hubs else len(hubs), home(home_dir)))
        spec = hubs[0]
    name = spec[4:] if spec.startswith("sim:") else spec
    vb = vboard(name, home_dir)
    w = wan_config(vb.path)
    if not w:
        raise BoardError("virtual board %s has no WAN endpoint (start it with --role chf)" % name)
    if not vb.running():
        raise BoardError("hub %s is not running (smlab sim start %s --role chf)" % (name, name))
    return w["host"], int(w["port"]), parse_eui(meta(vb.path).get("eui") or "", "the hub's EUI-64")
