"""A premises of virtual boards on one HAN (docs/wan.md §4): a Comms Hub (CHF)
with its WAN endpoint on loopback, meters (ESMEs), all with their radios on one air
(host_tools/han/air.py: ZEP v2 over UDP, every frame to a pcap), flashed and provisioned from a
bench PKI — the meters with their install codes and the hub's EUI-64 and KA key, the hub with its
peers' KA keys (the CBKE deviation's identity table, docs/han.md §5).

    p = Premises(workdir, keys, meters=1, seed=1)
    p.start()                        # air + boards started (flash and provision separately, or:)
    p.flash(); p.provision()         # both in parallel threads over the boards' REPLs
    p.hub_eui / p.meter_euis / p.install_code(eui) / p.wan -> (host, port)
    p.stop()                         # boards and air stopped, the pcap closed

The bench PKI needs "chf" and "esme" devices (pki.create_bench_pki(keys, [("esme", n), ("chf", 1)])).
"""
import hashlib
import os
import tempfile
import threading

from cryptography.hazmat.primitives import serialization

from host_tools.boards import flash, registry
from host_tools.boards.vboard import VBoard
from host_tools.keys import pki, provision

PAN = 0x1A62
CHANNEL = 11


def _compressed(party):
    return party.public["ka"].public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.CompressedPoint)


def install_code(eui):
    """A meter's 16-byte install code on the bench (derived from its EUI-64: repeatable, printed)."""
    return hashlib.sha256(b"smlab bench install code " + bytes(eui)).digest()[:16]


class Premises:
    def __init__(self, workdir, keys, meters=1, seed=1, topology=None, pcap=True, heap="512K", boards_dir=None,
                 hub_name="hub", meter_prefix="m", air=None):
        from host_tools.han.air import Air, Topology

        self.dir = workdir
        self.keys = keys
        parties = pki.load_keystore(keys)
        devs = sorted(e for e in parties if e[:4] == b"\x02SML" and e[4] == 1)
        hubs = [e for e in devs if e[5] == pki.DEVICE_TYPES["chf"]]
        esmes = [e for e in devs if e[5] == pki.DEVICE_TYPES["esme"]]
        if not hubs or len(esmes) < meters:
            raise registry.BoardError("the key store needs 1 chf and %d esme devices" % meters)
        self.parties = parties
        self.hub_eui = hubs[0]
        self.meter_euis = esmes[:meters]
        self.pcap_path = os.path.join(workdir, "han.pcap") if pcap else None
        if air is None:
            air = Air(0, topology=Topology.parse(topology) if topology else None, seed=seed,
                      pcap_path=self.pcap_path, channel=CHANNEL)
        self.air = air
        bd = boards_dir or workdir
        self.hub = VBoard(os.path.join(bd, hub_name), flash_kb=2048, heap=heap, eui64=self.hub_eui.hex())
        self.meters = [VBoard(os.path.join(bd, "%s%d" % (meter_prefix, i + 1)), flash_kb=2048, heap=heap,
                              eui64=e.hex()) for i, e in enumerate(self.meter_euis)]
        self.wan = None

    def boards(self):
        return [self.hub] + self.meters

    def start(self, timeout=60):
        from host_tools.han.air import configure_board

        self.air.start()
        for i, vb in enumerate(self.boards()):
            role = "chf" if vb is self.hub else "esme"
            registry.write_meta(vb.path, {"role": role, "eui": vb.eui64})
            configure_board(vb.path, self.air.port, i + 1, channel=CHANNEL)
        w = registry.ensure_wan(self.hub.path)
        self.wan = (w["host"], int(w["port"]))
        for vb in self.boards():
            vb.start(timeout=timeout)
        return self

    def _parallel(self, fn, boards=None):
        errs = []

        def run(vb):
            try:
                fn(vb)
            except Exception as e:  # reported after every board finished
                errs.append("%s: %s: %s" % (os.path.basename(vb.path), type(e).__name__, e))
        ts = [threading.Thread(target=run, args=(vb,)) for vb in (boards or self.boards())]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errs:
            raise registry.BoardError("; ".join(errs))

    def flash(self):
        """Copy the firmware (.mpy) to every board with mpremote, in parallel; returns bytes per board."""
        with tempfile.TemporaryDirectory() as tmp:
            files = flash.firmware_files("host", tmp)
            out = {}

            def one(vb):
                r = flash.flash_board(vb.console, files)
                if r["verified"] != r["files"]:
                    raise registry.BoardError("flash not verified")
                out[vb.path] = r["bytes"]
            self._parallel(one)
        return out

    def payload(self, vb):
        eui = bytes.fromhex(vb.eui64)
        hub = self.parties[self.hub_eui]
        if vb is self.hub:
            p = provision.payload(self.keys, eui, role="chf")
            p["han"] = {"pan": PAN, "channel": CHANNEL,
                        "peers": {e.hex(): _compressed(self.parties[e]).hex() for e in self.meter_euis}}
        else:
            p = provision.payload(self.keys, eui, role="esme")
            p["han"] = {"install_code": install_code(eui).hex(), "tc": self.hub_eui.hex(),
                        "tc_ka": _compressed(hub).hex(), "channel": CHANNEL}
        return p

    def provision(self, boards=None):
        """Provision the boards (default: all; identity, keys, trust anchors, its "han" record) and
        reset each into its firmware, in parallel."""
        def one(vb):
            provision.provision_board(vb.console, self.payload(vb))
            vb.reset_to_app()
        self._parallel(one, boards)

    def stop(self):
        for vb in self.boards():
            try:
                vb.stop()
            except OSError:
                pass  # already gone
        self.air.stop()


class DetachedAir:
    """An air running as its own process (`python -m host_tools.han.air`), so a premises started by
    `smlab han start` outlives the command; its state in <dir>/air.json {"pid", "port", "pcap"}."""

    def __init__(self, state_dir, seed=1, topology=None):
        self.dir = state_dir
        self.seed = seed
        self.topology = topology
        self.port = None
        self.pid = None
        self.pcap = os.path.join(state_dir, "han.pcap")

    def start(self):
        import json
        import socket
        import subprocess
        import sys
        import time

        from host_tools.util import ROOT, write_atomic

        os.makedirs(self.dir, exist_ok=True)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        cmd = [sys.executable, "-m", "host_tools.han.air", "--port", str(self.port), "--seed", str(self.seed),
               "--pcap", self.pcap]
        if self.topology:
            cmd += ["--topology", self.topology]
        env = dict(os.environ)
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        with open(os.path.join(self.dir, "air.log"), "ab") as log:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                 start_new_session=True)
        self.pid = p.pid
        time.sleep(0.3)
        if p.poll() is not None:
            raise registry.BoardError("the air did not start (see %s)" % os.path.join(self.dir, "air.log"))
        write_atomic(os.path.join(self.dir, "air.json"),
                     json.dumps({"pid": self.pid, "port": self.port, "pcap": self.pcap}), sync=False)
        return self

    @staticmethod
    def state(state_dir):
        import json

        try:
            with open(os.path.join(state_dir, "air.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    @staticmethod
    def stop_dir(state_dir):
        import signal

        st = DetachedAir.state(state_dir)
        if st and st.get("pid"):
            try:
                os.kill(st["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass  # already gone
        return st

    def stop(self):
        DetachedAir.stop_dir(self.dir)

    def stats(self):
        return {}
