"""`smlab gas`: a gas premises on the bench — the RTDS Comms Hub carrying the RTDS Gas Proxy Function
on one virtual board and the RTDS gas meter (a sleepy GSME) on another, their radios on one HAN (the
air in its own process, every frame to a pcap), flashed from one image and provisioned with the RTDS
identities (bench static ECDH secrets), the GSME logged by the ACB's CCS01 over the hub's WAN, joined
by CBKE and reported to its mirror (host_tools/boards/gaspremises.py, docs/gas.md "On virtual
boards"). The boards are ordinary virtual boards (sim:NAME): `smlab send --via wan` reaches the GPF
(answered at once from the mirror) and the GSME (held at the hub until its next wake: `smlab sim
clock NAME --advance 1800` on both boards brings it). The RTDS keystore is imported into
<home>/gas/pki, the key store `smlab send --keys` needs to verify the answers. Needs ../shared."""
import json
import os

from host_tools.boards import registry
from host_tools.boards.vboard import VBoard
from host_tools.cli.common import add_home
from host_tools.errors import UsageError
from host_tools.util import write_atomic

STATE = "premises.json"


def register(sub):
    p = sub.add_parser("gas", help="a gas premises: RTDS hub with GPF + RTDS GSME on one HAN (start / stop / status)")
    add_home(p)
    s = p.add_subparsers(dest="action", metavar="ACTION", help="what to do with the gas premises")
    s.required = True
    st = s.add_parser("start", help="start the air, the hub (with the GPF) and the GSME; flash, provision, log "
                                    "the GSME with CCS01 over the WAN; returns once the GSME has joined and reported")
    st.add_argument("--hub", default="hub", help="the hub board's name (default hub)")
    st.add_argument("--gsme", default="gsme", help="the gas meter board's name (default gsme)")
    st.add_argument("--hub-heap", default="1024K", help="MicroPython heap of the hub (default 1024K; 448K is "
                                                        "the smallest that passed, docs/gas.md)")
    st.add_argument("--gsme-heap", default="512K", help="MicroPython heap of the GSME (default 512K)")
    st.set_defaults(func=start)
    for name, fn, hlp in (("stop", stop, "stop the gas premises' boards and the air (images and capture kept)"),
                          ("status", status, "the gas premises: boards, WAN address, air, capture")):
        q = s.add_parser(name, help=hlp)
        q.set_defaults(func=fn)


def _dir(args):
    return os.path.join(registry.home(args.home), "gas")


def _state(args):
    try:
        with open(os.path.join(_dir(args), STATE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        raise UsageError("no gas premises under %s (smlab gas start)" % registry.home(args.home))


def start(args):
    from host_tools.boards.gaspremises import GPF, GSME, HUB, GasPremises
    from host_tools.boards.premises import DetachedAir
    from host_tools.gbcs import corpus as C
    from host_tools.gbcs import hub as H
    from host_tools.keys import pki

    if not C.available():
        raise UsageError("the RTDS corpus and keystore are not in %s" % C.KEYSTORE)
    for n in (args.hub, args.gsme):
        if VBoard(registry.board_dir(n, args.home)).running():
            raise UsageError("board %s is running (smlab gas stop, or smlab sim stop %s)" % (n, n))
    d = _dir(args)
    keys_dir = os.path.join(d, "pki")
    if not os.path.isdir(keys_dir):
        pki.import_keystore(C.KEYSTORE, keys_dir)
    if DetachedAir.state(d):
        DetachedAir.stop_dir(d)
    air = DetachedAir(d)
    prem = GasPremises(d, hub_heap=args.hub_heap, gsme_heap=args.gsme_heap,
                       boards_dir=os.path.join(registry.home(args.home), "boards"), hub_name=args.hub,
                       gsme_name=args.gsme, air=air)
    try:
        prem.start()
        prem.flash()
        prem.provision()
        with H.WanClient(prem.wan[0], prem.wan[1], timeout=30) as c:
            ok, why = prem.log_gsme(c)
        if not ok:
            raise UsageError("the hub's CCS01 response does not verify: %s" % why)
        off = prem.gsme.log_size()
        prem.provision_gsme()
        if not prem.wait_console(prem.gsme, "gsme wake 1", off, 60):
            raise UsageError("the GSME did not join and report within 60 s (see %s)" %
                             os.path.join(prem.gsme.path, "console.log"))
    except BaseException:  # a premises that did not come up is stopped, boards and air (then re-raised)
        prem.stop()
        raise
    st = {"hub": args.hub, "gsme": args.gsme, "hub_eui": HUB.hex().upper(), "gpf_eui": GPF.hex().upper(),
          "gsme_eui": GSME.hex().upper(), "wan": "%s:%d" % prem.wan, "keys": keys_dir, "air_port": air.port,
          "pcap": air.pcap}
    write_atomic(os.path.join(d, STATE), json.dumps(st, indent=1), sync=False)
    lines = ["hub sim:%s %s carrying the GPF %s, WAN %s" % (args.hub, st["hub_eui"], st["gpf_eui"], st["wan"]),
             "gas meter sim:%s %s: joined, reported to its mirror (wakes every 30 min of its clock)" % (
                 args.gsme, st["gsme_eui"]),
             "air udp 127.0.0.1:%d, capture %s" % (air.port, air.pcap),
             "try: smlab send sim:%s --via wan --keys %s --raw <RTDS GCS32 command file> --timeout 600" % (
                 args.gsme, keys_dir),
             "     smlab sim clock %s --advance 1800; smlab sim clock %s --advance 1800   (the GSME wakes)" % (
                 args.hub, args.gsme)]
    return {"text": "\n".join(lines), "data": st}


def stop(args):
    from host_tools.boards.premises import stop_detached

    st = _state(args)
    stop_detached((st["hub"], st["gsme"]), args.home, _dir(args))
    return {"text": "gas premises stopped (boards and air); capture kept at %s" % st["pcap"], "data": st}


def status(args):
    from host_tools.boards.premises import status_detached

    st = _state(args)
    return status_detached(st, (st["hub"], st["gsme"]), args.home, _dir(args))
