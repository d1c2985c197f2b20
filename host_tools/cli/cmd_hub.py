"""`smlab hub`: a Comms Hub's Device Log from the bench — `hub add` (CCS01 from the bench Access
Control Broker: log a device with its install code and open its join window), `hub remove` (CCS02),
both through the hub's WAN endpoint with the response MAC and the CS14 alert verified on the host;
`hub log` reads the Device Log, the Historic Device Log and the join history (the hub's security and
event logs) from a virtual hub's store over its REPL (the firmware is reset to run again after).
Exit status 1 when the hub refuses the command."""
import binascii

from host_tools.boards import registry
from host_tools.cli.common import add_home, add_keys, keys
from host_tools.errors import DeviceRefused, UsageError
from host_tools.util import parse_eui


def register(sub):
    p = sub.add_parser("hub", help="Comms Hub Device Log: add / remove a device (CCS01 / CCS02 over the WAN), read the log")
    add_home(p)
    s = p.add_subparsers(dest="action", metavar="ACTION", help="what to do with the hub")
    s.required = True
    a = s.add_parser("add", help="CCS01: add DEVICE to the hub's Device Log with its install code (joins then allowed)")
    a.add_argument("hub", help="the hub: sim:NAME (its WAN endpoint from the board registry)")
    a.add_argument("device", help="EUI-64 of the device (16 hex digits) or sim:NAME of a virtual meter")
    a.add_argument("--install-code", required=True, metavar="HEX",
                   help="the device's install code WITHOUT its CRC (6, 8, 12 or 16 bytes, hex), as CCS01 carries it")
    a.add_argument("--join-timeout", type=int, default=90, metavar="S",
                   help="seconds the join window stays open (1-3600, default 90 as in RTDS)")
    add_keys(a)
    a.add_argument("--wan", metavar="HOST:PORT", help="the hub's WAN endpoint (a real hub)")
    a.set_defaults(func=add)
    r = s.add_parser("remove", help="CCS02: remove DEVICE from the Device Log (its TC link key to the Historic Device Log)")
    r.add_argument("hub", help="the hub: sim:NAME")
    r.add_argument("device", help="EUI-64 of the device or sim:NAME")
    add_keys(r)
    r.add_argument("--wan", metavar="HOST:PORT", help="the hub's WAN endpoint (a real hub)")
    r.set_defaults(func=remove)
    g = s.add_parser("log", help="read the Device Log, Historic Device Log and join history of a virtual hub")
    g.add_argument("hub", help="the hub: sim:NAME")
    g.set_defaults(func=log)


def _eui(spec, home):
    if spec.startswith("sim:"):
        return registry.device_eui(registry.vboard(spec[4:], home))
    return parse_eui(spec, "DEVICE")


def _hub(args):
    host, port, eui = registry.hub_address(args.hub, args.home, args.wan)
    if eui is None:
        raise UsageError("a real hub needs its EUI-64: use sim:NAME or a registry entry")
    return host, port, eui


def _run(args, raw, counter, what):
    from host_tools.gbcs import hub as H

    host, port, hub = _hub(args)
    ks = keys(args)
    try:
        with H.WanClient(host, port, timeout=20) as c:
            try:
                rsp = c.request(raw)
            except H.WanRefused as e:
                raise DeviceRefused("%s refused by the hub: alert 0x%04X" % (what, e.code))
            alerts = c.drain_alerts(0.5)
    except (ConnectionError, TimeoutError, OSError) as e:
        raise UsageError("hub WAN endpoint %s:%d: %s" % (host, port, e))
    try:
        v = H.verify_hub_message(rsp, ks, hub)
        al = [H.verify_hub_message(a, ks, hub) for a in alerts]
    except H.HubError as e:
        raise DeviceRefused("%s: %s" % (what, e))
    if not v.get("ok"):
        raise DeviceRefused("%s: the hub answered DLMS results %r" % (what, v.get("results")))
    text = "%s counter %d -> response verified by %s" % (what, counter, v["auth"])
    for a in al:
        text += "\nalert %s (message code %s) verified by %s" % (a.get("alert"), a["message_code"], a["auth"])
    return {"text": text, "data": dict(v, command=raw.hex(), response=rsp.hex(), alerts=al,
                                       cs14=any(a.get("alert") == "8F12" for a in al))}


def add(args):
    from host_tools.gbcs import hub as H

    try:
        code = binascii.unhexlify(args.install_code)
    except (binascii.Error, ValueError):
        raise UsageError("--install-code must be hex")
    if len(code) not in (6, 8, 12, 16):
        raise UsageError("--install-code must be 6, 8, 12 or 16 bytes without its CRC (got %d)" % len(code))
    if not 1 <= args.join_timeout <= 3600:
        raise UsageError("--join-timeout must be 1..3600")
    dev = _eui(args.device, args.home)
    _, _, hub = _hub(args)
    raw, ctr = H.ccs01(keys(args), hub, dev, code, args.join_timeout)
    return _run(args, raw, ctr, "CCS01 add %s" % dev.hex().upper())


def remove(args):
    from host_tools.gbcs import hub as H

    dev = _eui(args.device, args.home)
    _, _, hub = _hub(args)
    raw, ctr = H.ccs02(keys(args), hub, dev)
    return _run(args, raw, ctr, "CCS02 remove %s" % dev.hex().upper())


def log(args):
    import time

    from firmware import alert_names
    from host_tools.gbcs import hub as H

    name = args.hub[4:] if args.hub.startswith("sim:") else args.hub
    vb = registry.vboard(name, args.home)
    if not vb.running():
        raise UsageError("hub %s is not running" % name)
    try:
        res = H.read_hub(vb.console)
    finally:
        vb.reset_to_app()
    lines = ["Device Log (%d):" % len(res["devices"])]
    for d in res["devices"]:
        lines.append("  %s  hashed TC link key %s" % (d["eui"], d["hashed_key"] or "(none yet: not joined)"))
    lines.append("Historic Device Log (%d):" % len(res["historic"]))
    for d in res["historic"]:
        lines.append("  %s  %s" % (d["eui"], d["hashed_key"]))
    lines.append("join history (security and event logs):")
    for e in sorted(res["security"] + res["events"], key=lambda e: e["time"]):
        lines.append("  %s  %s %s%s" % (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e["time"])), e["code"],
                                        alert_names.NAMES.get(int(e["code"], 16), ""),
                                        ("  " + e["detail"]) if e["detail"] else ""))
    lines.append("alerts waiting for the WAN: %d" % res["pending_alerts"])
    return {"text": "\n".join(lines), "data": res}
