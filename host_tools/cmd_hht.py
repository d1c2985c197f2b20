"""`smlab hht` and `smlab send`: the hand-held terminal over a board's optical port
(host_tools/hht.py), work orders (host_tools/workorder.py) and single signed commands.

    smlab hht issue    --keys KS --hht-id 48485400000000A7 [--device EUI] --out cred.json
    smlab hht readout  BOARD
    smlab hht read     BOARD --cred cred.json 1.8.0 C.LS
    smlab hht workorder --keys KS --device EUI ECS43 ECS42 ECS45 --out wo.json
    smlab hht apply    BOARD --cred cred.json --keys KS --wo wo.json --apply 1,3 --out upload.json
    smlab send BOARD --keys KS ECS42        # build + sign + pass through + verify the response

`send` logs in with the key store's default HHT credential (`hht-default.json`, issued by the
supplier DS key on first use, scoped to the target meter, read + pass-through permissions).
"""
import json
import os

from host_tools import boards, hht, pki, usecases, workorder
from host_tools.cli import CliError


def register(sub):
    p = sub.add_parser("hht", help="hand-held terminal: credentials, readout, reads, work orders")
    p.add_argument("--home")
    s = p.add_subparsers(dest="action", metavar="ACTION")
    s.required = True
    i = s.add_parser("issue", help="certify a new HHT key with the supplier DS key")
    i.add_argument("--keys", required=True)
    i.add_argument("--hht-id", required=True, help="8-byte HHT id (hex)")
    i.add_argument("--device", help="restrict the credential to one meter (EUI-64)")
    i.add_argument("--read-only", action="store_true", help="restricted reads only, no pass-through")
    i.add_argument("--out", required=True)
    i.set_defaults(func=issue)
    r = s.add_parser("readout", help="IEC 62056-21 standard data readout (no login)")
    r.add_argument("board")
    r.set_defaults(func=readout)
    q = s.add_parser("read", help="log in and read registers / logs (restricted HHT)")
    q.add_argument("board")
    q.add_argument("--cred", required=True)
    q.add_argument("addresses", nargs="+", help="e.g. 1.8.0 C.LS C.LOG.S(0)")
    q.set_defaults(func=read)
    w = s.add_parser("workorder", help="build a signed work order of use-case commands for a meter")
    w.add_argument("--keys", required=True)
    w.add_argument("--device", required=True)
    w.add_argument("use_cases", nargs="+", choices=sorted(usecases.USE_CASES))
    w.add_argument("--out", required=True)
    w.set_defaults(func=build_wo)
    a = s.add_parser("apply", help="log in and apply chosen work-order commands; save responses")
    a.add_argument("board")
    a.add_argument("--cred", required=True)
    a.add_argument("--keys", required=True, help="key store (to check the work order and the responses)")
    a.add_argument("--wo", required=True)
    a.add_argument("--apply", help="item ids, e.g. 1,3 (default: all)")
    a.add_argument("--out", help="upload file for the responses")
    a.set_defaults(func=apply_wo)
    d = sub.add_parser("send", help="build, sign and deliver one GBCS command; print the verified response")
    d.add_argument("board")
    d.add_argument("use_case", choices=sorted(usecases.USE_CASES))
    d.add_argument("--keys", required=True)
    d.add_argument("--home")
    d.add_argument("--eui", help="device EUI-64 (default: the virtual board's)")
    d.add_argument("--via", default="optical", choices=("optical",),
                   help="delivery path (optical pass-through; WAN arrives with the Comms Hub)")
    d.set_defaults(func=send)


def _eui(s, what="EUI-64"):
    try:
        b = bytes.fromhex(s)
    except (TypeError, ValueError):
        b = b""
    if len(b) != 8:
        raise CliError("%s must be 16 hex digits: %r" % (what, s))
    return b


def _supplier(keys):
    ps = pki.load_keystore(keys)
    sups = [p for e, p in sorted(ps.items()) if p.role == pki.ROLES["supplier"] and "ds" in p.private]
    if not sups:
        raise CliError("no supplier DS private key in %s" % keys)
    return sups[0]


def _optical(spec, home=None):
    kind, port, vb = boards.resolve(spec, home)
    return os.path.realpath(vb.optical) if vb else port, vb


def open_port(port):
    """The optical port for the HHT: a real serial port at 300 Bd 7E1 (IEC 62056-21 mode C, through
    hht._open); a pseudo-terminal (virtual board) at 8N1, because a pty has no parity bits and
    Linux 6.x refuses CS7/PARENB on ptys with EINVAL (the meter reads 7-bit characters either way)."""
    import serial

    if os.path.realpath(port).startswith("/dev/pts/"):
        return serial.Serial(port, 300, timeout=0.2)
    return hht._open(port)


def _session(spec, home=None):
    port, _ = _optical(spec, home)
    return hht.Hht(open_port(port))


def _device_eui(args, vb):
    if getattr(args, "eui", None):
        return _eui(args.eui)
    if vb is None:
        raise CliError("--eui is required for a real board")
    return _eui(boards.meta(vb.path).get("eui"))


def issue(args):
    sup = _supplier(args.keys)
    scope = _eui(args.device, "--device") if args.device else hht.auth.ANY_METER
    perms = hht.auth.PERM_READ | (0 if args.read_only else hht.auth.PERM_PASS)
    cred, priv = hht.issue_credential(sup.private["ds"], sup.eui, _eui(args.hht_id, "--hht-id"), scope, perms)
    hht.save_credential(args.out, cred, priv)
    return {"text": "issued HHT credential %s for %s (supplier %s) -> %s" % (
        args.hht_id, args.device or "any meter", sup.eui.hex(), args.out),
        "data": {"hht_id": args.hht_id, "scope": scope.hex(), "perms": perms, "out": args.out}}


def readout(args):
    h = _session(args.board, args.home)
    try:
        sets = h.readout()
    except hht.HhtError as e:
        raise CliError("readout failed: %s" % e.text)
    return {"text": "%s\n" % h.ident + "\n".join("%-12s %s %s" % (a, v, u or "") for a, v, u in sets),
            "data": {"ident": h.ident, "data_sets": [[a, v, u] for a, v, u in sets]}}


def _login(h, cred_path, meter):
    cred, priv = hht.load_credential(cred_path)
    try:
        h.login(cred, priv, meter)
    except hht.HhtError as e:
        raise CliError("login refused: %s" % e.text)


def read(args):
    port, vb = _optical(args.board, args.home)
    h = hht.Hht(open_port(port))
    _login(h, args.cred, _device_eui(args, vb))
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
    return {"text": "\n".join("%-14s %s %s" % (a, v if v is not None else "REFUSED", u or "") for a, v, u in out),
            "data": out}


def build_wo(args):
    dev = _eui(args.device, "--device")
    sup = _supplier(args.keys)
    items = []
    for uc in args.use_cases:
        raw, c = usecases.build(uc, args.keys, dev)
        items.append(("command", "%s %s (counter %d)" % (uc, usecases.USE_CASES[uc][3], c), raw))
    wo = workorder.build(dev, sup.eui, sup.private["ds"], items)
    workorder.save(args.out, wo)
    return {"text": "work order %s for %s: %s" % (wo["id"], dev.hex(), ", ".join(
        "%d %s" % (it["id"], it["label"]) for it in wo["items"])), "data": wo}


def _verify_item(keys, dev, raw_resp, cmd_hex):
    from firmware.gbcs import frame

    c = frame.parse(bytes.fromhex(cmd_hex)).counter
    try:
        return usecases.verify_response(raw_resp, keys, dev, c)
    except usecases.UseCaseError as e:
        return {"ok": False, "error": "response does not verify: %s" % e}


def apply_wo(args):
    port, vb = _optical(args.board, args.home)
    wo = workorder.load(args.wo)
    sup = _supplier(args.keys)
    dev = _eui(wo.get("target", ""), "work order target")
    try:
        workorder.verify(wo, sup.public["ds"], _device_eui(args, vb) if vb else None)
    except workorder.WorkOrderError as e:
        raise CliError(str(e))
    choose = [int(x) for x in args.apply.split(",")] if args.apply else [it["id"] for it in wo["items"]]
    h = hht.Hht(open_port(port))
    _login(h, args.cred, dev)
    try:
        recs = hht.apply_work_order(h, wo, choose)
    finally:
        h.sign_off()
    lines = []
    for rec in recs:
        item = [it for it in wo["items"] if it["id"] == rec["id"]][0]
        if rec["status"] == "applied":
            rec["verified"] = _verify_item(args.keys, dev, bytes.fromhex(rec["response"]), item["gbcs"])
            ok = rec["verified"].get("ok")
            lines.append("%d %-45s applied, response %s: %s" % (
                rec["id"], rec["label"][:45], rec["verified"].get("auth", "UNVERIFIED"),
                ", ".join(rec["verified"].get("results", [])) if ok else rec["verified"].get("error", "not ok")))
        else:
            lines.append("%d %-45s REJECTED %s" % (rec["id"], rec["label"][:45], rec.get("error")))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"work_order": wo["id"], "records": recs}, f, indent=1)
    return {"text": "\n".join(lines), "data": recs}


def default_credential(keys, dev):
    path = os.path.join(keys, "hht-default-%s.json" % dev.hex())
    if not os.path.exists(path):
        sup = _supplier(keys)
        cred, priv = hht.issue_credential(sup.private["ds"], sup.eui, bytes.fromhex("48485400000000d1"), dev)
        hht.save_credential(path, cred, priv)
    return path


def send(args):
    port, vb = _optical(args.board, args.home)
    dev = _device_eui(args, vb)
    try:
        raw, counter = usecases.build(args.use_case, args.keys, dev)
    except usecases.UseCaseError as e:
        raise CliError(str(e))
    h = hht.Hht(open_port(port))
    _login(h, default_credential(args.keys, dev), dev)
    try:
        resp = h.gbcs(raw)
    except hht.HhtError as e:
        raise CliError("%s rejected by the meter: %s" % (args.use_case, e.text))
    finally:
        h.sign_off()
    v = usecases.verify_response(resp, args.keys, dev, counter)
    text = "%s (%s) counter %d -> response verified by %s: %s" % (
        args.use_case, usecases.USE_CASES[args.use_case][3], counter, v["auth"], ", ".join(v.get("results", [])))
    return {"text": text, "data": dict(v, command=raw.hex(), response=resp.hex())}
