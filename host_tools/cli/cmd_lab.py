"""`smlab lab`: the distributed bench on labgrid (host_tools/lab/, docs/lab.md) — exporter
configuration for the boards of this host, a coordinator, an exporter, places, and campaigns over
places reserved by tags."""
import argparse
import json
import os
import socket
import sys

from host_tools.cli import CliError
from host_tools.cli.common import add_home
from host_tools.util import smlab_home

DEFAULT_COORD = os.environ.get("LG_COORDINATOR", "127.0.0.1:20408")


def _add_coord(p):
    p.add_argument("--coordinator", "-c", default=DEFAULT_COORD, metavar="HOST:PORT",
                   help="labgrid coordinator address (default $LG_COORDINATOR, else 127.0.0.1:20408)")


def _exporter_name(name):
    n = (name or socket.gethostname().split(".")[0]).lower()
    n = "".join(c if c.isalnum() or c == "_" else "_" for c in n)
    return n or "host"


def register(sub):
    p = sub.add_parser("lab", help="labgrid lab: exporter config, coordinator, exporter, places, campaigns",
                       description=__doc__.split("\n\n")[0].replace("\n", " "))
    add_home(p)
    s = p.add_subparsers(dest="action", metavar="ACTION", help="what to do")
    s.required = True

    e = s.add_parser("exporter-config", help="write a labgrid exporter YAML (and its places) for this host's boards")
    e.add_argument("boards", nargs="*", help="virtual board names (default: every running virtual board)")
    e.add_argument("--real", metavar="FILE",
                   help="JSON list of real boards on this host: name, role, eui, console, optical (device paths)")
    e.add_argument("--name", help="the exporter's name on the coordinator (default: this host's name)")
    e.add_argument("--out", metavar="DIR", help="where to write exporter.yaml and places.yaml "
                                                "(default <home>/lab/<name>)")
    e.set_defaults(func=exporter_config)

    c = s.add_parser("coordinator", help="run a labgrid coordinator (labgrid-coordinator)")
    c.add_argument("--listen", default="127.0.0.1:20408", metavar="HOST:PORT",
                   help="address to listen on (default 127.0.0.1:20408)")
    c.add_argument("--dir", help="working directory: its places and reservations are kept there "
                                 "(default <home>/lab/coordinator)")
    c.add_argument("--background", action="store_true", help="start it detached; print its pid and log")
    c.set_defaults(func=coordinator)

    x = s.add_parser("exporter", help="run a labgrid exporter for an exporter YAML (labgrid-exporter)")
    x.add_argument("config", help="exporter YAML (smlab lab exporter-config writes it)")
    _add_coord(x)
    x.add_argument("--name", help="the exporter's name (default: the folder name of CONFIG)")
    x.add_argument("--hostname", default="127.0.0.1",
                   help="address clients reach this host's ports at (default 127.0.0.1)")
    x.add_argument("--background", action="store_true", help="start it detached; print its pid and log")
    x.set_defaults(func=exporter)

    pl = s.add_parser("places", help="create the places of a places YAML on the coordinator (idempotent)")
    pl.add_argument("places", help="places YAML (smlab lab exporter-config writes it)")
    _add_coord(pl)
    pl.set_defaults(func=places)

    st = s.add_parser("status", help="places (tags, who holds them) and exported resources")
    _add_coord(st)
    st.set_defaults(func=status)

    b = s.add_parser("bench", help="run a scenario on places reserved by tags; JUnit XML, JSON and HTML reports",
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="Reserve COUNT places having every --tag through the coordinator, acquire "
                                 "them, run the scenario's steps on their boards (ports served by their "
                                 "exporters), release them. The scenario's \"boards\" entry is replaced.")
    b.add_argument("scenario", help="scenario JSON file (smlab bench --help for the format)")
    _add_coord(b)
    b.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                   help="place tag to match, repeatable (default role=esme)")
    b.add_argument("--count", type=int, default=1, help="number of places (boards) to reserve (default 1)")
    b.add_argument("--keys", metavar="DIR", help="key store holding the boards' EUIs (default <home>/pki)")
    b.add_argument("--flash", action="store_true",
                   help="copy the firmware to the boards through the lab first (mpremote over RFC 2217: "
                        "about 40 s per board; flashing on the boards' own host takes 2 s)")
    b.add_argument("--provision", action="store_true",
                   help="provision the boards through the lab first (else they are ready to use)")
    b.add_argument("--wait", type=float, default=60.0, help="seconds to wait for free places (default 60)")
    b.add_argument("--out", help="work and report directory (default <home>/bench/<scenario>-<time>)")
    b.set_defaults(func=bench, keep=False, boards=None)


def exporter_config(args):
    from host_tools.lab import exporter as X

    name = _exporter_name(args.name)
    boards = X.real_boards(args.real) if args.real else []
    if args.boards or not args.real:
        boards = X.virtual_boards(args.home, args.boards or None) + boards
    if not boards:
        raise CliError("no running virtual boards under %s and no --real file" % smlab_home(args.home))
    out = args.out or os.path.join(smlab_home(args.home), "lab", name)
    exp, pl = X.write(boards, name, out)
    cmd = "smlab lab exporter %s --name %s --coordinator HOST:PORT" % (exp, name)
    text = ["exporter %s: %d boards (%s)" % (name, len(boards), ", ".join(b["name"] for b in boards)),
            "  %s" % exp, "  %s" % pl, "run: " + cmd, "then: smlab lab places %s --coordinator HOST:PORT" % pl]
    return {"text": "\n".join(text), "data": {"exporter": name, "config": exp, "places": pl,
                                               "boards": [b["name"] for b in boards]}}


def _background(p, what, log):
    return {"text": "%s started: pid %d, log %s (stop it with: kill %d)" % (what, p.pid, log, p.pid),
            "data": {"pid": p.pid, "log": log}}


def coordinator(args):
    from host_tools.lab import procs

    d = args.dir or os.path.join(smlab_home(args.home), "lab", "coordinator")
    os.makedirs(d, exist_ok=True)
    if args.background:
        host, _, port = args.listen.rpartition(":")
        if not host or not port.isdigit():
            raise CliError("--listen must be HOST:PORT")
        p, addr = procs.start_coordinator(d, host, int(port))
        r = _background(p, "coordinator on %s" % addr, os.path.join(d, "coordinator.log"))
        r["data"]["address"] = addr
        return r
    sys.stdout.flush()
    os.chdir(d)
    cmd = procs.coordinator_cmd(args.listen)
    os.execv(cmd[0], cmd)


def exporter(args):
    from host_tools.lab import procs

    cfg = os.path.abspath(args.config)
    if not os.path.exists(cfg):
        raise CliError("no exporter config %s (smlab lab exporter-config writes one)" % cfg)
    name = _exporter_name(args.name or os.path.basename(os.path.dirname(cfg)))
    d = os.path.dirname(cfg)
    if args.background:
        p = procs.start_exporter(cfg, args.coordinator, name, args.hostname, d)
        try:
            procs.wait_exporter(p, args.coordinator, name, d)
        except Exception:
            procs.stop(p)
            raise
        r = _background(p, "exporter %s" % name, os.path.join(d, "exporter-%s.log" % name))
        r["data"]["exporter"] = name
        return r
    sys.stdout.flush()
    cmd = procs.exporter_cmd(cfg, args.coordinator, name, args.hostname)
    os.execv(cmd[0], cmd)


def places(args):
    from host_tools.lab import exporter as X
    from host_tools.lab.client import Lab

    spec = X.load_places(args.places)
    with Lab(args.coordinator) as lab:
        created = lab.ensure_places(spec)
    return {"text": "%d places (%d new): %s" % (len(spec), len(created), ", ".join(sorted(spec))),
            "data": {"places": sorted(spec), "created": created}}


def status(args):
    from host_tools.lab.client import Lab

    with Lab(args.coordinator) as lab:
        pl = lab.places()
        res = lab.resources()
    lines = ["coordinator %s: %d places, %d exporters" % (args.coordinator, len(pl), len(res))]
    for n, p in sorted(pl.items()):
        lines.append("  %-28s %-40s %s" % (n, ",".join("%s=%s" % kv for kv in sorted(p["tags"].items())),
                                           "acquired by %s" % p["acquired"] if p["acquired"] else "free"))
    for e, groups in sorted(res.items()):
        n = sum(len(g) for g in groups.values())
        lines.append("  exporter %s: %d boards, %d resources" % (e, len(groups), n))
    return {"text": "\n".join(lines), "data": {"places": pl, "exporters": res}}


def bench(args):
    from host_tools.campaigns import fleet
    from host_tools.cli import cmd_bench
    from host_tools.cli.common import keys

    tags = {}
    for t in args.tag or ["role=esme"]:
        k, sep, v = t.partition("=")
        if not sep or not k or not v:
            raise CliError("--tag must be KEY=VALUE")
        tags[k] = v
    if args.count < 1:
        raise CliError("--count must be at least 1")
    sc = fleet.load(args.scenario)
    ks = keys(args)
    if not os.path.exists(os.path.join(ks, "index.json")):
        raise CliError("no key store at %s (--keys)" % ks)
    sc["boards"] = {"lab": {"coordinator": args.coordinator, "tags": tags, "count": args.count,
                            "timeout": args.wait},
                    "keys": ks, "flash": args.flash, "provision": args.provision}
    return cmd_bench.campaign(sc, args.scenario, args, args.count)
