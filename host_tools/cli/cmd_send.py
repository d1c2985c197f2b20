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
    d.add_argument("--via", default="optical", choices=("optical", "wan"),
                   help="delivery path: optical (the meter's optical pass-through, HHT login) or wan "
                        "(the Comms Hub's WAN endpoint; the hub routes it over the HAN)")
    d.add_argument("--hub", metavar="BOARD",
                   help="with --via wan: the hub (sim:NAME; default: the only hub board under the home)")
    d.add_argument("--wan", metavar="HOST:PORT",
                   help="with --via wan: the hub's WAN endpoint address (a real hub; default: from the board registry)")
    d.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS",
                   help="with --via wan: how long to wait for the response (default 20); a sleepy gas meter "
                        "answers at its next wake, when it fetches the command the hub holds for it")
    d.set_defaults(func=send)


def send(args):
    if (args.raw is None) == (args.use_case is None):
        raise UsageError("give a USE_CASE or --raw HEX|FILE (one of them)")
    if args.via == "wan":
        return send_wan(args)
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


def _wan_target(args):
    """(device EUI-64, vboard or None) for --via wan: the board may be a virtual meter or hub, or
    given by --eui for a real one."""
    if args.board.startswith("sim:"):
        vb = registry.vboard(args.board[4:], args.home)
        return registry.device_eui(vb, args.eui), vb
    return registry.device_eui(None, args.eui), None


def send_wan(args):
    """Deliver through the hub's WAN endpoint: the hub answers itself, forwards to a logged device
    over the HAN, or refuses (alert 0x8F84); alerts arriving with the answer are listed."""
    from host_tools.gbcs import hub as H
    from host_tools.gbcs import runner

    host, port, hub_eui = registry.hub_address(args.hub, args.home, args.wan)
    dev, _ = _wan_target(args)
    ks = keys(args)
    if args.raw is not None:
        raw, m = runner.read_raw(args.raw)
        counter, label = m.counter, "%04X" % m.message_code
    else:
        raw, counter = usecases.build(args.use_case, ks, dev)
        label = "%s (%s)" % (args.use_case, usecases.USE_CASES[args.use_case][3])
    try:
        if args.timeout <= 0:
            raise UsageError("--timeout must be > 0")
        with H.WanClient(host, port, timeout=args.timeout) as c:
            try:
                resp = c.request(raw)
            except H.WanRefused as e:
                alerts = c.drain_alerts(0.3)
                raise DeviceRefused("%s refused via the hub at %s:%d: alert 0x%04X%s" % (
                    label, host, port, e.code, "".join(" + alert %04X" % H.alert_code(a) for a in alerts)))
            alerts = c.drain_alerts(0.2)
    except (ConnectionError, TimeoutError, OSError) as e:
        raise UsageError("hub WAN endpoint %s:%d: %s" % (host, port, e))
    data = {"command": raw.hex(), "response": resp.hex(), "counter": counter, "via": "wan",
            "hub": "%s:%d" % (host, port), "alerts": [a.hex() for a in alerts]}
    try:
        if args.raw is None:
            v = usecases.verify_response(resp, ks, dev, counter)
            head = "response verified by %s: %s" % (v["auth"], ", ".join(v.get("results", [])))
        elif hub_eui == dev:
            v = H.verify_hub_message(resp, ks, dev)
            head = "response verified by " + v["auth"]
        else:  # a device behind the hub (a meter, the GPF, the GSME): judged as send_raw does
            v = _judge(ks, raw, m, resp)
            head = v["head"]
            if v["known"] and not v["verified"]:
                raise DeviceRefused("%s: response via the hub does not verify: %s" % (label, v.get("reason")))
        data.update(v)
    except (usecases.UseCaseError, H.HubError) as e:
        raise DeviceRefused("%s: response via the hub does not verify: %s" % (label, e))
    text = "%s counter %d via WAN %s:%d -> %s" % (label, counter, host, port, head)
    for a in alerts:
        text += "\nalert %04X from %s" % (H.alert_code(a), frame_originator(a))
    return {"text": text, "data": data}


def frame_originator(raw):
    from firmware.gbcs import frame

    return frame.parse(raw).originator.hex().upper()


def _judge(ks, raw, m, resp):
    """The response `resp` to command `raw` (parsed `m`) checked on the host with the key store's
    keys of the recipient and originator (runner.judge): a dict with verified, auth, known (the keys
    were there), head (one line) and reason when it does not verify."""
    from host_tools.gbcs import runner

    ds, ka = runner.device_keys(ks, m.recipient)
    peer = runner.originator_ka(ks, m.originator)
    ok, why, auth, _ = runner.judge(m, resp, m.recipient, ds, ka, peer)
    known = ds is not None if auth == "signature" else (ka is not None and peer is not None)
    out = {"verified": ok, "auth": auth, "known": known, "message_code": "%04X" % m.message_code}
    if ok:
        out["head"] = "response verified by %s" % auth
    elif not known:
        out["head"] = "response NOT verified: the key store lacks the keys (%s)" % why
    else:
        out["head"] = "response NOT verified: %s" % why
    if why:
        out["reason"] = why
    return out


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
