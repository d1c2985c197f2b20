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
    def __init__(self, workdir, keys, meters=1, seed=1, topology=None, pcap=True, heap="512K"):
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
        self.air = Air(0, topology=Topology.parse(topology) if topology else None, seed=seed,
                       pcap_path=self.pcap_path, channel=CHANNEL)
        self.hub = VBoard(os.path.join(workdir, "hub"), flash_kb=2048, heap=heap, eui64=self.hub_eui.hex())
        self.meters = [VBoard(os.path.join(workdir, "m%d" % (i + 1)), flash_kb=2048, heap=heap, eui64=e.hex())
                       for i, e in enumerate(self.meter_euis)]
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

    def _parallel(self, fn):
        errs = []

        def run(vb):
            try:
                fn(vb)
            except Exception as e:  # reported after every board finished
                errs.append("%s: %s: %s" % (os.path.basename(vb.path), type(e).__name__, e))
        ts = [threading.Thread(target=run, args=(vb,)) for vb in self.boards()]
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

    def provision(self):
        """Provision every board (identity, keys, trust anchors, its "han" record) and reset it into
        its firmware."""
        def one(vb):
            provision.provision_board(vb.console, self.payload(vb))
            vb.reset_to_app()
        self._parallel(one)

    def stop(self):
        for vb in self.boards():
            try:
                vb.stop()
            except OSError:
                pass  # already gone
        self.air.stop()
