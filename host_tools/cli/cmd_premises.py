"""`smlab premises`: a pre-configured premises of virtual boards in one folder — a Comms Hub, N ESMEs
and an In-Home Display on one HAN (the air in its own process, every frame to DIR/han.pcap), flashed
from one prebuilt image and provisioned ALREADY PAIRED: the hub's Device Log holds every device with
its TC link key, every device its network key, short address and TC link key, the IHD its
application link key with the first meter (in the meter's device log as a CS03 method B partner),
and with --gsme a gas meter in the hub's Device Log likewise, served by the Gas Proxy Function the
hub board carries (its store under gpf/, the CHF's record naming the GSME), so the boards work from
their first boot with no join on site (docs/lab.md "Pre-configured
premises"; host_tools/boards/premises.py, firmware/han/preset.py). The key store is DIR/pki (a bench
PKI made there when absent) unless --keys names one."""
import json
import os

from host_tools.boards import registry
from host_tools.errors import UsageError
from host_tools.util import write_atomic

STATE = "premises.json"


def register(sub):
    p = sub.add_parser("premises", help="a pre-configured premises (hub, ESMEs, IHD, GSME) already paired: "
                                        "create / status / stop")
    s = p.add_subparsers(dest="action", metavar="ACTION", help="what to do with the premises")
    s.required = True
    c = s.add_parser("create", help="start the air and the boards in DIR, flash them from one image and provision "
                                    "them with the HAN state of a completed join (no join step on site)")
    c.add_argument("dir", metavar="DIR", help="folder of the premises (boards, capture, keys; created)")
    c.add_argument("--meters", type=int, default=1, help="number of ESMEs (1..15, default 1)")
    c.add_argument("--ihd", action="store_true", help="add an In-Home Display reading the first ESME")
    c.add_argument("--gsme", action="store_true",
                   help="add a gas meter (GSME) pre-joined, and the Gas Proxy Function serving it on the hub board")
    c.add_argument("--interval-ms", type=int, default=5000,
                   help="how often the IHD reads the meter, in ms (default 5000)")
    c.add_argument("--heap", default="512K", help="MicroPython heap of each board (default 512K)")
    c.add_argument("--seed", type=int, default=1, help="the air's RNG seed for losses (default 1)")
    c.add_argument("--keys", metavar="DIR", help="key store holding 1 chf and N esme devices (--gsme: and 1 gsme "
                                                  "and 1 gpf) "
                                                  "(default DIR/pki, a bench PKI created when absent)")
    c.set_defaults(func=create)
    for name, fn, hlp in (("status", status, "the premises' boards, the IHD's last line, the air"),
                          ("stop", stop, "stop the boards and the air (images, keys and capture kept)")):
        q = s.add_parser(name, help=hlp)
        q.add_argument("dir", metavar="DIR", help="folder of the premises")
        q.set_defaults(func=fn)


def _kib(heap):
    """KiB of a --heap value ("512K", "1M" or bytes); 0 when it does not parse (the board refuses it)."""
    h = heap.strip().upper()
    try:
        return int(h[:-1]) * (1024 if h.endswith("M") else 1) if h[-1:] in ("K", "M") else int(h) // 1024
    except ValueError:
        return 0


def _state(d):
    try:
        with open(os.path.join(d, STATE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        raise UsageError("no premises in %s (smlab premises create %s)" % (d, d))


def _boards(st):
    from host_tools.boards.vboard import VBoard

    return [VBoard(b["dir"], eui64=b["eui"].lower()) for b in st["boards"]]


def create(args):
    from host_tools.boards.premises import DetachedAir, Premises, provision_many, start_many_premises
    from host_tools.keys import pki

    if not 1 <= args.meters <= 15:
        raise UsageError("--meters must be 1..15 (the hub's Device Log holds 16 devices)")
    if args.meters + args.ihd + args.gsme > 16:
        raise UsageError("--meters %d with%s%s is more than the hub's Device Log holds (16 devices)"
                         % (args.meters, " --ihd" if args.ihd else "", " --gsme" if args.gsme else ""))
    if args.gsme and _kib(args.heap) < 448:
        raise UsageError("--heap %s is too small for a hub carrying the GPF (448K at least, docs/gas.md)" % args.heap)
    if args.interval_ms < 100:
        raise UsageError("--interval-ms must be at least 100")
    d = os.path.abspath(args.dir)
    if os.path.exists(os.path.join(d, STATE)):
        st = _state(d)
        if any(vb.running() for vb in _boards(st)):
            raise UsageError("a premises is running in %s (smlab premises stop %s)" % (d, d))
    os.makedirs(d, exist_ok=True)
    ks = args.keys or os.path.join(d, "pki")
    if not os.path.exists(os.path.join(ks, "index.json")):
        if args.keys:
            raise UsageError("no key store at %s" % ks)
        pki.create_bench_pki(ks, [("esme", args.meters), ("chf", 1)]
                             + ([("gsme", 1), ("gpf", 1)] if args.gsme else []))
    if DetachedAir.state(d):
        DetachedAir.stop_dir(d)
    air = DetachedAir(d, args.seed)
    try:
        prem = Premises(d, ks, meters=args.meters, heap=args.heap, boards_dir=os.path.join(d, "boards"),
                        air=air, ihd=args.ihd, preconfigured=True, ihd_interval_ms=args.interval_ms,
                        gsme=args.gsme)
    except registry.BoardError as e:
        raise UsageError(str(e))
    air.start()
    try:
        start_many_premises([prem], air.port, d)
        provision_many([prem])
    except Exception:
        prem.stop()
        raise
    boards = [{"name": os.path.basename(vb.path), "role": prem.role_of(vb), "eui": vb.eui64.upper(), "dir": vb.path}
              for vb in prem.boards()]
    st = {"dir": d, "keys": ks, "hub_eui": prem.hub_eui.hex().upper(), "wan": "%s:%d" % prem.wan,
          "boards": boards, "air_port": air.port, "pcap": air.pcap,
          "han_keys": os.path.join(d, "han-keys.json"), "preconfigured": True}
    if prem.gpf_eui:
        st["gpf_eui"] = prem.gpf_eui.hex().upper()
    write_atomic(os.path.join(d, STATE), json.dumps(st, indent=1), sync=False)
    lines = ["%-4s %-5s %s  %s" % (b["name"], b["role"], b["eui"], b["dir"]) for b in boards]
    lines.append("paired: the hub's Device Log holds %d devices with their TC link keys; no join on site"
                 % (len(boards) - 1))
    lines.append("WAN %s (smlab send <port> ECS45 --via wan --wan %s --eui %s --keys %s)"
                 % (st["wan"], st["wan"], boards[1]["eui"], ks))
    if prem.gpf_eui:
        lines.append("GPF %s on the hub board, serving the GSME %s (wakes every 30 min of its clock)"
                     % (st["gpf_eui"], prem.gsme_eui.hex().upper()))
    lines.append("air udp 127.0.0.1:%d, capture %s, HAN keys %s" % (air.port, air.pcap, st["han_keys"]))
    return {"text": "\n".join(lines), "data": st}


def status(args):
    from host_tools.boards.premises import DetachedAir

    d = os.path.abspath(args.dir)
    st = _state(d)
    rows = []
    for b, vb in zip(st["boards"], _boards(st)):
        shown = vb.display_lines() if os.path.exists(os.path.join(vb.path, "console.log")) else []
        rows.append(dict(b, state=vb.state(), display=shown[-1] if shown else None))
    alive = DetachedAir.running(d)
    lines = ["%-4s %-5s %s %-8s %s" % (r["name"], r["role"], r["eui"], r["state"], r["display"] or "") for r in rows]
    lines.append("WAN %s; air %s on udp %s, capture %s" % (st["wan"], "running" if alive else "stopped",
                                                         st["air_port"], st["pcap"]))
    return {"text": "\n".join(lines), "data": dict(st, boards=rows, air_running=alive)}


def stop(args):
    from host_tools.boards.premises import DetachedAir
    from host_tools.boards.vboard import stop_many

    d = os.path.abspath(args.dir)
    st = _state(d)
    stop_many(_boards(st))
    DetachedAir.stop_dir(d)  # waits until the air has closed its capture
    return {"text": "premises stopped (boards and air); images, keys and capture kept in %s" % d, "data": st}
