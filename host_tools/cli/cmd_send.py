"""`smlab send`: build and sign one GBCS use-case command, deliver it through the meter's optical
pass-through (logged in with the key store's default HHT credential for that meter, issued by the
supplier DS key on first use) and verify the response on the host with `cryptography`.
Exit status 1 when the meter refuses the command."""
from host_tools.boards import registry
from host_tools.cli.common import add_home, add_keys, keys
from host_tools.errors import DeviceRefused, UsageError
from host_tools.gbcs import usecases
from host_tools.hht import hht


def register(sub):
    d = sub.add_parser("send", help="build, sign and deliver one GBCS command; print the verified response")
    d.add_argument("board", help="sim:NAME or the optical probe's serial port")
    d.add_argument("use_case", nargs="?", choices=sorted(usecases.USE_CASES), metavar="USE_CASE",
                   help="one of %s (or --raw)" % ", ".join(sorted(usecases.USE_CASES)))
    d.add_argument("--raw", metavar="HEX|FILE",
                   help="deliver these GBCS command bytes as they are (hex, or a file of hex like an RTDS "
                        ".HEX) instead of building a use case; the response is verified when the key "
                        "store knows the device")
    d.add_argument("--cred", metavar="FILE",
                   help="HHT credential to log in with (smlab hht issue; default: the key store's)")
    add_keys(d)
    add_home(d)
    d.add_argument("--eui", help="device EUI-64 (default: the virtual board's)")
    d.add_argument("--via", default="optical", choices=("optical",),
                   help="delivery path (optical pass-through; WAN arrives with the Comms Hub)")
    d.set_defaults(func=send)


def send(args):
    if (args.raw is None) == (args.use_case is None):
        raise UsageError("give a USE_CASE or --raw HEX|FILE (one of them)")
    if args.raw is not None:
        return send_raw(args)
    port, vb = registry.optical_port(args.board, args.home)
    dev = registry.device_eui(vb, args.eui)
    ks = keys(args)
    raw, counter = usecases.build(args.use_case, ks, dev)
    try:
        resp = hht.send_command(port, ks, dev, raw)
    except hht.HhtError as e:
        if e.exit_code == DeviceRefused.exit_code:
            raise DeviceRefused("%s rejected by the meter: %s" % (args.use_case, e.text))
        raise
    v = usecases.verify_response(resp, ks, dev, counter)
    text = "%s (%s) counter %d -> response verified by %s: %s" % (
        args.use_case, usecases.USE_CASES[args.use_case][3], counter, v["auth"], ", ".join(v.get("results", [])))
    return {"text": text, "data": dict(v, command=raw.hex(), response=resp.hex())}


def send_raw(args):
    from host_tools.gbcs import runner

    raw, m = runner.read_raw(args.raw)
    port, vb = registry.optical_port(args.board, args.home)
    dev = registry.device_eui(vb, args.eui) if (vb or args.eui) else m.recipient
    ks = keys(args)
    try:
        if args.cred:
            cred, priv = hht.load_credential(args.cred)
            resp = hht.deliver(port, cred, priv, dev, raw)
        else:
            resp = hht.send_command(port, ks, dev, raw)
    except hht.HhtError as e:
        if e.exit_code == DeviceRefused.exit_code:
            raise DeviceRefused("command (counter %d) rejected by the meter: %s" % (m.counter, e.text))
        raise
    ds, ka = runner.device_keys(ks, m.recipient)
    peer = runner.originator_ka(ks, m.originator)
    ok, why, auth, _ = runner.judge(m, resp, m.recipient, ds, ka, peer)
    known = ds is not None if auth == "signature" else (ka is not None and peer is not None)
    data = {"command": raw.hex(), "response": resp.hex(), "counter": m.counter,
            "message_code": "%04X" % m.message_code, "verified": ok, "auth": auth}
    if ok:
        head = "response verified by %s" % auth
    elif not known:
        head = "response NOT verified: the key store lacks the keys (%s)" % why
    else:
        head = "response NOT verified: %s" % why
    if why:
        data["reason"] = why
    text = "%04X counter %d -> %s\n%s" % (m.message_code, m.counter, head, resp.hex().upper())
    out = {"text": text, "data": data}
    if known and not ok:
        out["exit_code"] = DeviceRefused.exit_code  # the device's answer does not verify
    return out
