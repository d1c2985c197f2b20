"""labgrid exporter configuration for the boards of one host, and the places that match them.

Every board is one group of the exporter configuration (labgrid "Exporter Configuration": a YAML
mapping of groups, each a mapping of resource name -> {cls, params}); each of its UARTs is a
`RawSerialPort` resource named `console` (the REPL: flash, provision, reset, logs), `optical` (the
IEC 62056-21 port) and, on a virtual board, `keypad`. The exporter serves a RawSerialPort with
ser2net while a place holds it; clients see it as a `NetworkSerialPort` (RFC 2217) with the host
and TCP port the exporter publishes.

labgrid keeps tags on places, not on resources, so the same call also writes the places: one per
board, named `<exporter>-<board>`, matching `<exporter>/<board>/*`, tagged `role=esme|chf|gsme|ihd`,
`board=virtual|esp32`, `premises=<name>` (when the board belongs to one) and `eui=<hex>`.
"""
import json
import os

from host_tools.boards import registry
from host_tools.errors import UsageError

UARTS = (("console", 115200), ("optical", 300), ("keypad", 9600))
LAB_ROLES = ("esme", "chf", "gsme", "ihd")


def _tag(v):
    v = str(v).lower()
    if not v or not all(c.isalnum() or c == "_" for c in v):
        raise UsageError("tag value %r: lower-case letters, digits and _ only (labgrid place tags)" % v)
    return v


def virtual_boards(home=None, names=None):
    """Entries for the running virtual boards under the smlab home (all, or `names`)."""
    out = []
    for name in registry.list_vboards(home):
        if names and name not in names:
            continue
        vb = registry.vboard(name, home)
        if not vb.running():
            continue
        m = registry.meta(vb.path)
        ports = {u: os.path.realpath(os.path.join(vb.path, u)) for u, _ in UARTS}
        out.append({"name": name, "role": m.get("role") or "esme", "eui": m.get("eui"),
                    "premises": m.get("premises"), "board": "virtual", "ports": ports})
    if names:
        missing = sorted(set(names) - {e["name"] for e in out})
        if missing:
            raise UsageError("not running virtual boards: %s" % ", ".join(missing))
    return out


def real_boards(path):
    """Entries for real boards listed in a JSON file: [{"name", "role", "eui", "console", "optical",
    "premises"?}, ...] (USB-serial device paths on this host, e.g. /dev/serial/by-id/...)."""
    try:
        with open(path) as f:
            rows = json.load(f)
    except (OSError, ValueError) as e:
        raise UsageError("%s: %s" % (path, e))
    out = []
    for i, r in enumerate(rows if isinstance(rows, list) else []):
        try:
            out.append({"name": r["name"], "role": r.get("role", "esme"), "eui": r["eui"],
                        "premises": r.get("premises"), "board": r.get("board", "esp32"),
                        "ports": {"console": r["console"], "optical": r["optical"]}})
        except KeyError as e:
            raise UsageError("%s: board %d needs %s" % (path, i + 1, e))
    if not out:
        raise UsageError("%s: a JSON list of boards is expected" % path)
    return out


def exporter_config(boards):
    """The labgrid exporter configuration (a dict; `dump` writes it as YAML)."""
    cfg = {}
    for b in boards:
        if b["role"] not in LAB_ROLES:
            raise UsageError("board %s: role must be one of %s" % (b["name"], ", ".join(LAB_ROLES)))
        group = {"location": "smlab %s board %s" % (b["board"], b["name"])}
        for uart, speed in UARTS:
            port = b["ports"].get(uart)
            if port:
                group[uart] = {"cls": "RawSerialPort", "port": port, "speed": speed}
        cfg[b["name"]] = group
    return cfg


def place_name(exporter, board):
    return "%s-%s" % (exporter, board)


def places(boards, exporter):
    """{place name: {"matches": [...], "tags": {...}}} for the boards of exporter `exporter`."""
    out = {}
    for b in boards:
        tags = {"role": _tag(b["role"]), "board": _tag(b["board"])}
        if b.get("eui"):
            tags["eui"] = _tag(b["eui"])
        if b.get("premises"):
            tags["premises"] = _tag(b["premises"])
        out[place_name(exporter, b["name"])] = {"matches": ["%s/%s/*" % (exporter, b["name"])], "tags": tags}
    return out


def dump(data):
    import yaml

    return yaml.safe_dump(data, sort_keys=True, default_flow_style=False)


def write(boards, exporter, out_dir):
    """Write <out_dir>/exporter.yaml and <out_dir>/places.yaml; returns their paths."""
    from host_tools.util import write_atomic

    os.makedirs(out_dir, exist_ok=True)
    exp = os.path.join(out_dir, "exporter.yaml")
    pl = os.path.join(out_dir, "places.yaml")
    # the exporter renders its configuration with Jinja2 (line statements start with "#"): comments are "##"
    head = ("## labgrid exporter configuration written by `smlab lab exporter-config` (docs/lab.md);\n"
            "## virtual boards' pty paths change when a board is restarted: write it again then\n")
    write_atomic(exp, head + dump(exporter_config(boards)), sync=False)
    write_atomic(pl, "# places for exporter %s: `smlab lab places` creates them on the coordinator\n"
                 % exporter + dump(places(boards, exporter)), sync=False)
    return exp, pl


def load_places(path):
    import yaml

    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        raise UsageError("%s: %s" % (path, e))
    if not isinstance(data, dict):
        raise UsageError("%s: a mapping of places is expected" % path)
    return data
