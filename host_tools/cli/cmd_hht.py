"""`smlab hht`: the hand-held terminal over a board's optical port (host_tools/hht/hht.py) and work
orders (host_tools/hht/workorder.py).

    smlab hht issue    --keys KS --hht-id 48485400000000A7 [--device EUI] [--out cred.json]
    smlab hht readout  BOARD
    smlab hht read     BOARD --cred cred.json 1.8.0 C.LS
    smlab hht workorder --keys KS --device EUI ECS43 ECS42 ECS45 [--out wo.json]
    smlab hht apply    BOARD --cred cred.json --keys KS --wo wo.json --apply 1,3 --out upload.json

`apply` exits 1 when the meter refused any item or an item asked for is not in the work order.
"""
import json

from firmware.gbcs import frame
from host_tools.boards import registry
from host_tools.cli import CliError, warn
from host_tools.cli.common import add_home, add_keys, default_file, keys
from host_tools.errors import EXIT_REFUSED
from host_tools.gbcs import usecases
from host_tools.hht import hht, workorder
from host_tools.keys import pki
from host_tools.util import parse_eui, private_path_warning, write_atomic


def register(sub):
    p = sub.add_parser("hht", help="hand-held terminal: credentials, readout, reads, work orders")
    add_home(p)
    s = p.add_subparsers(dest="action", metavar="ACTION", help="what the terminal does")
    s.required = True
    i = s.add_parser("issue", help="certify a new HHT key with the supplier DS key")
    add_keys(i, what="key store with the supplier DS private key")
    i.add_argument("--hht-id", required=True, help="8-byte HHT id (hex)")
    i.add_argument("--device", help="restrict the credential to one meter (EUI-64)")
    i.add_argument("--read-only", action="store_true", help="restricted reads only, no pass-through")
    i.add_argument("--out", help="credential file (holds a private key; default "
                                 "<home>/credentials/hht-<id>.json, ignored by git)")
    i.set_defaults(func=issue)
    r = s.add_parser("readout", help="IEC 62056-21 standard data readout (no login)")
    r.add_argument("board", help="sim:NAME or the optical probe's serial port")
    r.set_defaults(func=readout)
    q = s.add_parser("read", help="log in and read registers / logs (restricted HHT)")
    q.add_argument("board", help="sim:NAME or the optical probe's serial port")
    q.add_argument("--cred", required=True, help="HHT credential file (smlab hht issue)")
    q.add_argument("--eui", help="meter EUI-64 (default: the virtual board's)")
    q.add_argument("addresses", nargs="+", help="e.g. 1.8.0 C.LS C.LOG.S(0)")
    q.set_defaults(func=read)
    w = s.add_parser("workorder", help="build a signed work order of use-case commands for a meter")
    add_keys(w, what="key store with the supplier DS and ACB KA private keys")
    w.add_argument("--device", required=True, help="meter EUI-64 the commands are for")
    w.add_argument("use_cases", nargs="+", choices=sorted(usecases.USE_CASES), metavar="USE_CASE",
                   help="use cases in order: %s" % ", ".join(sorted(usecases.USE_CASES)))
    w.add_argument("--out", help="work order file (default <home>/workorders/<id>.json)")
    w.set_defaults(func=build_wo)
    a = s.add_parser("apply", help="log in and apply chosen work-order commands; save responses")
    a.add_argument("board", help="sim:NAME or the optical probe's serial port")
    a.add_argument("--cred", required=True, help="HHT credential file (smlab hht issue)")
    add_keys(a, what="key store (to check the work order and the responses)")
    a.add_argument("--wo", required=True, help="work order file (smlab hht workorder)")
    a.add_argument("--apply", help="item ids, e.g. 1,3 (default: all)")
    a.add_argument("--out", help="upload file for the responses")
    a.set_defaults(func=apply_wo)


def issue(args):
    sup = pki.supplier(keys(args))
    scope = parse_eui(args.device, "--device") if args.device else hht.auth.ANY_METER
    perms = hht.auth.PERM_READ | (0 if args.read_only else hht.auth.PERM_PASS)
    hid = parse_eui(args.hht_id, "--hht-id")
    out = args.out or default_file(args, "credentials", "hht-%s.json" % hid.hex())
    cred, priv = hht.issue_credential(sup.private["ds"], sup.eui, hid, scope, perms)
    hht.save_credential(out, cred, priv)
    w = private_path_warning(out)
    if w:
        warn(w)
    return {"text": "issued HHT credential %s for %s (supplier %s) -> %s" % (
        args.hht_id, args.device or "any meter", sup.eui.hex(), out),
        "data": {"hht_id": args.hht_id, "scope": scope.hex(), "perms": perms, "out": out}}


def _session(spec, home=None):
    port, vb = registry.optical_port(spec, home)
    return hht.Hht(hht.open_port(port)), vb


def readout(args):
    h, _ = _session(args.board, args.home)
    try:
        sets = h.readout()
    finally:
        h.ser.close()
    return {"text": "%s\n" % h.ident + "\n".join("%-12s %s %s" % (a, v, u or "") for a, v, u in sets),
            "data": {"ident": h.ident, "data_sets": [[a, v, u] for a, v, u in sets]}}


def read(args):
    h, vb = _session(args.board, args.home)
    try:
        cred, priv = hht.load_credential(args.cred)
        h.login(cred, priv, registry.device_eui(vb, args.eui))
        out = []
        try:
            for a in args.addresses:
                addr, _, arg = a.partition("(")
                try:
                    v, u = h.read(addr, arg.rstrip(")"))
                    out.append([a, v, u])
                except hht.HhtError as e:
                    out.append([a, None, e.text])
        finally:
            h.sign_off()
    finally:
        h.ser.close()
    return {"text": "\n".join("%-14s %s %s" % (a, v if v is not None else "REFUSED", u or "") for a, v, u in out),
            "data": out}


def build_wo(args):
    dev = parse_eui(args.device, "--device")
    ks = keys(args)
    sup = pki.supplier(ks)
    items = []
    for uc in args.use_cases:
        raw, c = usecases.build(uc, ks, dev)
        items.append(("command", "%s %s (counter %d)" % (uc, usecases.USE_CASES[uc][3], c), raw))
    wo = workorder.build(dev, sup.eui, sup.private["ds"], items)
    out = args.out or default_file(args, "workorders", "%s.json" % wo["id"])
    workorder.save(out, wo)
    return {"text": "work order %s for %s -> %s: %s" % (wo["id"], dev.hex(), out, ", ".join(
        "%d %s" % (it["id"], it["label"]) for it in wo["items"])), "data": dict(wo, out=out)}


def _verify_item(keys_dir, dev, raw_resp, cmd_hex):
    c = frame.parse(bytes.fromhex(cmd_hex)).counter
    try:
        return usecases.verify_response(raw_resp, keys_dir, dev, c)
    except usecases.UseCaseError as e:
        return {"ok": False, "error": "response does not verify: %s" % e}


def apply_wo(args):
    port, vb = registry.optical_port(args.board, args.home)
    ks = keys(args)
    wo = workorder.load(args.wo)
    sup = pki.supplier(ks)
    dev = parse_eui(wo.get("target", ""), "work order target")
    workorder.verify(wo, sup.public["ds"], registry.device_eui(vb) if vb else None)
    try:
        choose = [int(x) for x in args.apply.split(",")] if args.apply else [it["id"] for it in wo["items"]]
    except ValueError:
        raise CliError("--apply takes item ids separated by commas, e.g. 1,3: %r" % args.apply)
    cred, priv = hht.load_credential(args.cred)
    h = hht.Hht(hht.open_port(port))
    try:
        h.login(cred, priv, dev)
        try:
            recs = hht.apply_work_order(h, wo, choose)
        finally:
            h.sign_off()
    finally:
        h.ser.close()
    lines = []
    for rec in recs:
        if rec["status"] == "applied":
            item = [it for it in wo["items"] if it["id"] == rec["id"]][0]
            rec["verified"] = _verify_item(ks, dev, bytes.fromhex(rec["response"]), item["gbcs"])
            ok = rec["verified"].get("ok")
            lines.append("%d %-45s applied, response %s: %s" % (
                rec["id"], rec["label"][:45], rec["verified"].get("auth", "UNVERIFIED"),
                ", ".join(rec["verified"].get("results", [])) if ok else rec["verified"].get("error", "not ok")))
        elif rec["status"] == "missing":
            lines.append("%d %-45s NO SUCH ITEM in %s" % (rec["id"], "", wo.get("id")))
        else:
            lines.append("%d %-45s REJECTED %s" % (rec["id"], rec["label"][:45], rec.get("error")))
    if args.out:
        write_atomic(args.out, json.dumps({"work_order": wo["id"], "records": recs}, indent=1))
    refused = any(r["status"] != "applied" for r in recs)
    return {"text": "\n".join(lines), "data": recs, "exit_code": EXIT_REFUSED if refused else 0}
