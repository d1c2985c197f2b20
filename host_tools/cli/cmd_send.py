"""`smlab send`: build and sign one GBCS use-case command, deliver it through the meter's optical
pass-through (logged in with the key store's default HHT credential for that meter, issued by the
supplier DS key on first use) and verify the response on the host with `cryptography`.
Exit status 1 when the meter refuses the command."""
from host_tools.boards import registry
from host_tools.cli.common import add_home, add_keys, keys
from host_tools.errors import DeviceRefused
from host_tools.gbcs import usecases
from host_tools.hht import hht


def register(sub):
    d = sub.add_parser("send", help="build, sign and deliver one GBCS command; print the verified response")
    d.add_argument("board", help="sim:NAME or the optical probe's serial port")
    d.add_argument("use_case", choices=sorted(usecases.USE_CASES), metavar="USE_CASE",
                   help="one of %s" % ", ".join(sorted(usecases.USE_CASES)))
    add_keys(d)
    add_home(d)
    d.add_argument("--eui", help="device EUI-64 (default: the virtual board's)")
    d.add_argument("--via", default="optical", choices=("optical",),
                   help="delivery path (optical pass-through; WAN arrives with the Comms Hub)")
    d.set_defaults(func=send)


def send(args):
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
