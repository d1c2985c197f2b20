"""`smlab pki`: create a bench test PKI, import DCC's ZAZ1 test keystore, show a key store."""
import os

from host_tools.cli import warn
from host_tools.cli.common import add_home
from host_tools.keys import pki
from host_tools.util import parse_eui, private_path_warning, smlab_home


def register(sub):
    p = sub.add_parser("pki", help="create / import / show a test PKI (key store directory)")
    add_home(p)
    s = p.add_subparsers(dest="action", metavar="ACTION", help="create, import or show")
    s.required = True
    c = s.add_parser("create", help="create a bench PKI: organisations + per-board device keys")
    c.add_argument("dir", nargs="?", help="key store directory to create (default <home>/pki)")
    c.add_argument("--esme", type=int, default=1, help="number of ESME device identities (default 1)")
    c.add_argument("--gsme", type=int, default=0, help="number of GSME device identities (default 0)")
    c.add_argument("--chf", type=int, default=0, help="number of comms hub identities (default 0)")
    c.add_argument("--gpf", type=int, default=0,
                   help="number of Gas Proxy Function identities, one for each hub serving a GSME (default 0)")
    c.set_defaults(func=create)
    i = s.add_parser("import", help="import a ZAZ1-layout keystore (e.g. ../shared/interop/rtds/keystore)")
    i.add_argument("src", help="the keystore directory to read")
    i.add_argument("dir", nargs="?", help="key store directory to write (default <home>/pki)")
    i.set_defaults(func=do_import)
    w = s.add_parser("show", help="list the parties of a key store")
    w.add_argument("dir", nargs="?", help="key store directory (default <home>/pki)")
    w.add_argument("--eui", help="show one party in full")
    w.set_defaults(func=show)


def _dir(args):
    return args.dir or os.path.join(smlab_home(args.home), "pki")


def _table(parties):
    rows = ["%-16s  %-20s  %-9s  %s" % ("EUI-64", "role", "keys", "private")]
    for eui in sorted(parties):
        p = parties[eui]
        d = p.describe()
        rows.append("%-16s  %-20s  %-9s  %s" % (
            d["eui"], d["role"], ",".join(sorted(p.public)), ",".join(sorted(p.private)) or "-"))
    return "\n".join(rows)


def _result(parties, head):
    return {"text": head + "\n" + _table(parties),
            "data": {"parties": [parties[e].describe() for e in sorted(parties)]}}


def _warn_private(path):
    w = private_path_warning(path)
    if w:
        warn(w)


def create(args):
    d = _dir(args)
    devices = [(k, n) for k, n in (("esme", args.esme), ("gsme", args.gsme), ("chf", args.chf), ("gpf", args.gpf)) if n]
    parties = pki.create_bench_pki(d, devices)
    _warn_private(d)
    return _result(parties, "created bench PKI in %s (%d parties)" % (d, len(parties)))


def do_import(args):
    d = _dir(args)
    parties = pki.import_keystore(args.src, d)
    _warn_private(d)
    return _result(parties, "imported %d parties from %s into %s" % (len(parties), args.src, d))


def show(args):
    d = _dir(args)
    parties = pki.load_keystore(d)
    if args.eui:
        p = parties.get(parse_eui(args.eui, "--eui"))
        if p is None:
            raise pki.PkiError("no party %s in %s" % (args.eui, os.path.abspath(d)))
        d = p.describe()
        lines = ["%s  %s  %s" % (d["eui"], d["role"], d["name"] or "")]
        for u, k in sorted(d["keys"].items()):
            lines.append("  %-5s ski=%s private=%s\n        %s" % (u, k["ski"], k["private"], k["public"]))
        return {"text": "\n".join(lines), "data": d}
    return _result(parties, "%s: %d parties" % (d, len(parties)))
