"""`smlab han`: a premises on the bench — a virtual Comms Hub and virtual meters with their radios on one
HAN (the air: ZEP v2 over UDP, every frame to a pcap), flashed and provisioned from the home's key
store with their HAN records (host_tools/boards/premises.py, docs/wan.md §4-§5); its capture
summarised by tshark. The boards are ordinary virtual boards (sim:NAME): `smlab hub add`, `smlab send
--via wan`, `smlab hub log` work on them."""
import json
import os
import shutil
import subprocess

from host_tools.boards import registry
from host_tools.cli.common import add_home, add_keys, keys
from host_tools.errors import UsageError
from host_tools.util import write_atomic


def register(sub):
    p = sub.add_parser("han", help="a premises: a virtual hub and meters on one HAN (start / stop / status / capture)")
    add_home(p)
    s = p.add_subparsers(dest="action", metavar="ACTION", help="what to do with the premises")
    s.required = True
    st = s.add_parser("start", help="start the air, a hub and N meters; flash and provision them (the key store "
                                    "needs --chf 1 and --esme N: smlab pki create --esme N --chf 1)")
    st.add_argument("--meters", type=int, default=1, help="number of meters (default 1)")
    st.add_argument("--hub", default="hub", help="the hub board's name (default hub); meters are m1, m2, ...")
    st.add_argument("--seed", type=int, default=1, help="the air's RNG seed for losses (default 1)")
    st.add_argument("--topology", metavar="FILE", help="the air's topology file (host_tools/han/air.py)")
    st.add_argument("--heap", default="512K", help="MicroPython heap of each board (default 512K)")
    add_keys(st)
    st.set_defaults(func=start)
    for name, fn, hlp in (("stop", stop, "stop the premises' boards and the air (images and capture kept)"),
                          ("status", status, "the premises: boards, WAN address, air, capture")):
        q = s.add_parser(name, help=hlp)
        q.set_defaults(func=fn)
    w = s.add_parser("watch", help="print the HAN's frames as the air carries them (from its capture)")
    w.add_argument("--seconds", type=float, default=10.0, help="how long to watch (default 10; 0: what is there now)")
    w.set_defaults(func=watch)
    c = s.add_parser("capture", help="the HAN capture (pcap) and, when tshark is installed, its protocol summary")
    c.add_argument("--out", metavar="FILE", help="copy the capture to FILE")
    c.set_defaults(func=capture)


def _dir(args):
    return os.path.join(registry.home(args.home), "han")


def _state(args):
    try:
        with open(os.path.join(_dir(args), "premises.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        raise UsageError("no premises under %s (smlab han start)" % registry.home(args.home))


def start(args):
    from host_tools.boards.premises import DetachedAir, Premises, install_code

    if args.meters < 1 or args.meters > 16:
        raise UsageError("--meters must be 1..16")
    d = _dir(args)
    if DetachedAir.state(d):
        DetachedAir.stop_dir(d)
    air = DetachedAir(d, args.seed, args.topology)
    prem = Premises(d, keys(args), meters=args.meters, heap=args.heap, boards_dir=os.path.join(
        registry.home(args.home), "boards"), hub_name=args.hub, air=air)
    prem.start()
    prem.flash()
    prem.provision()
    meters = [{"name": os.path.basename(vb.path), "eui": e.hex().upper(), "install_code": install_code(e).hex().upper()}
              for vb, e in zip(prem.meters, prem.meter_euis)]
    st = {"hub": args.hub, "hub_eui": prem.hub_eui.hex().upper(), "wan": "%s:%d" % prem.wan, "meters": meters,
          "air_port": air.port, "pcap": air.pcap}
    write_atomic(os.path.join(d, "premises.json"), json.dumps(st, indent=1), sync=False)
    lines = ["hub sim:%s %s, WAN %s" % (args.hub, st["hub_eui"], st["wan"])]
    for m in meters:
        lines.append("meter sim:%s %s, install code %s (log it: smlab hub add sim:%s sim:%s --install-code %s)" % (
            m["name"], m["eui"], m["install_code"], args.hub, m["name"], m["install_code"]))
    lines.append("air udp 127.0.0.1:%d, capture %s" % (air.port, air.pcap))
    return {"text": "\n".join(lines), "data": st}


def stop(args):
    from host_tools.boards.premises import stop_detached

    st = _state(args)
    stop_detached([st["hub"]] + [m["name"] for m in st["meters"]], args.home, _dir(args))
    return {"text": "premises stopped (boards and air); capture kept at %s" % st["pcap"], "data": st}


def status(args):
    from host_tools.boards.premises import status_detached

    st = _state(args)
    return status_detached(st, [st["hub"]] + [m["name"] for m in st["meters"]], args.home, _dir(args))


def capture(args):
    st = _state(args)
    path = st["pcap"]
    if not os.path.exists(path):
        raise UsageError("no capture at %s" % path)
    if args.out:
        shutil.copyfile(path, args.out)
        path = args.out
    data = {"pcap": path, "bytes": os.path.getsize(path)}
    text = "capture %s (%d bytes)" % (path, data["bytes"])
    ts = shutil.which("tshark")
    if ts:
        r = subprocess.run([ts, "-r", path, "-q", "-z", "io,phs"], capture_output=True, text=True, timeout=120)
        data["tshark"] = r.stdout
        text += "\n" + r.stdout.strip()
    else:
        text += " (tshark not installed: no summary)"
    return {"text": text, "data": data}


def watch(args):
    import time

    from host_tools.han import pcap

    st = _state(args)
    path = st["pcap"]
    if not os.path.exists(path):
        raise UsageError("no capture at %s" % path)
    end = time.monotonic() + max(0.0, args.seconds)
    off = 24
    seen = []
    while True:
        got, off = pcap.read_frames(path, off)
        for t, dev, n, desc in got:
            line = "%s  node %s  %3d B  %s" % (time.strftime("%H:%M:%S", time.localtime(t)) + ".%03d" % int(t % 1 * 1000),
                                               dev, n, desc)
            seen.append({"time": t, "node": dev, "bytes": n, "frame": desc})
            if not args.json:
                print(line, flush=True)
        if time.monotonic() >= end:
            break
        time.sleep(0.2)
    return {"text": "%d frames" % len(seen), "data": seen}
