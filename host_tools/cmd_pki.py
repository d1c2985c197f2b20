"""`smlab pki`: create a bench test PKI, import DCC's ZAZ1 test keystore, show a key store."""
import os

from host_tools import pki


def register(sub):
    p = sub.add_parser("pki", help="create / import / show a test PKI (key store directory)")
    s = p.add_subparsers(dest="action", metavar="ACTION")
    s.required = True
    c = s.add_parser("create", help="create a bench PKI: organisations + per-board device keys")
    c.add_argument("dir", help="key store directory to create")
    c.add_argument("--esme", type=int, default=1, help="number of ESME device identities")
    c.add_argument("--gsme", type=int, default=0)
    c.add_argument("--chf", type=int, default=0)
    c.set_defaults(func=create)
    i = s.add_parser("import", help="import a ZAZ1-layout keystore (e.g. ../shared/interop/rtds/keystore)")
    i.add_argument("src")
    i.add_argument("dir")
    i.set_defaults(func=do_import)
    w = s.add_parser("show", help="list the parties of a key store")
    w.add_argument("dir")
    w.add_argument("--eui", help="show one party in full")
    w.set_defaults(func=show)


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


def create(args):
    devices = [(k, n) for k, n in (("esme", args.esme), ("gsme", args.gsme), ("chf", args.chf)) if n]
    parties = pki.create_bench_pki(args.dir, devices)
    return _result(parties, "created bench PKI in %s (%d parties)" % (args.dir, len(parties)))


def do_import(args):
    parties = pki.import_keystore(args.src, args.dir)
    return _result(parties, "imported %d parties from %s into %s" % (len(parties), args.src, args.dir))


def show(args):
    parties = pki.load_keystore(args.dir)
    if args.eui:
        try:
            p = parties[bytes.fromhex(args.eui)]
        except (KeyError, ValueError):
            raise pki.PkiError("no party %s in %s" % (args.eui, os.path.abspath(args.dir)))
        d = p.describe()
        lines = ["%s  %s  %s" % (d["eui"], d["role"], d["name"] or "")]
        for u, k in sorted(d["keys"].items()):
            lines.append("  %-5s ski=%s private=%s\n        %s" % (u, k["ski"], k["private"], k["public"]))
        return {"text": "\n".join(lines), "data": d}
    return _result(parties, "%s: %d parties" % (args.dir, len(parties)))
