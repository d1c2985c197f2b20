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

A pre-configured premises (docs/lab.md "Pre-configured premises"): `ihd=True` adds an In-Home Display
(role "ihd", firmware/han/ihd.py) reading the first meter; `preconfigured=True` provisions every
board with the HAN state a join would have left (firmware/han/preset.py: the hub's network key and
Device Log with every device's TC link key, each device's short address, network key and TC link
key, the IHD's application link key with the meter and its entry in the meter's device log), so the
boards boot joined: no beacon, association, Transport-Key or CBKE on site. The keys are drawn on the
host (os.urandom) and written to <workdir>/han-keys.json (git-ignored) for Wireshark.

    p = Premises(workdir, keys, meters=1, ihd=True, preconfigured=True)
    p.start_fast()                   # air + boards from one prebuilt image under one supervisor
    p.provision()                    # identity, keys, HAN records; every board reset into its firmware

`gsme=True` adds a gas meter (role "gsme", its own board, firmware/gas/node.py SleepyNode) and the
Gas Proxy Function that serves it on the hub board (firmware/wan/gasproxy.py: the GPF's store under
gpf/ provisioned as a device of its own, the CHF's record "gpf" naming the GSME): both from the key
store ("gsme" and "gpf" devices, number `index`); pre-configured, the GSME is in the hub's Device Log
with its TC link key and boots joined like a meter, and sleeps between its wakes. The hub's heap must
hold the GPF (docs/gas.md: 448K at least).

Many premises on one host (bench/bench_premises_campaign.py): `index` picks the premises' hub and
meters from the key store (hub number index, meters index*meters...), `id_base` offsets the air's
device ids; start_many_premises() flashes and starts them all from one image under shared
supervisors, on one air whose topology keeps each premises' frames to itself.
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
IHD_TYPE = 0x06  # the bench EUI scheme's device byte for an IHD (CS03 otherDeviceType "type 2 device")
IHD_INTERVAL_MS = 5000
# GPF reads (gas_read): message code and [(cluster, Read Attributes payload: attribute ids LE)]
GAS_READS = {"GCS13a": (0x0074, [(0x0702, "0203010300030000")]),
             "GCS60a": (0x012A, [(0x0702, "000a"), (0x0705, "0100")])}
_PRESET_LOCK = threading.Lock()


def _compressed(party):
    return party.public["ka"].public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.CompressedPoint)


def _org(parties, role):
    """The key store's first party of organisation role `role` (pki.ROLES)."""
    return [q for _, q in sorted(parties.items()) if q.role == pki.ROLES[role]][0]


def credit_remaining(components):
    """CreditRemaining (Prepayment 0x0705 attribute 0x0001, int32, 1e-5 GBP) from the components of
    a Read Attributes Response (check_gas_read); None when absent or not SUCCESS."""
    for cluster, cmd, pl in components:
        if cluster == 0x0705 and cmd == 0x01 and pl[:4] == b"\x01\x00\x00\x2b" and len(pl) >= 8:
            return int.from_bytes(pl[4:8], "little", signed=True)
    return None


def install_code(eui):
    """A meter's 16-byte install code on the bench (derived from its EUI-64: repeatable, printed)."""
    return hashlib.sha256(b"smlab bench install code " + bytes(eui)).digest()[:16]


def ihd_eui(hub_eui):
    """The bench IHD of the premises of `hub_eui`: 02 53 4D 4C 01 06 and the hub's serial."""
    return bytes(hub_eui[:5]) + bytes((IHD_TYPE,)) + bytes(hub_eui[6:8])


def bench_key(tag, eui):
    """A P-256 private key derived from the device's EUI-64 (bench keys of a device the key store
    does not hold, such as an IHD: repeatable, never a real device's)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    d = int.from_bytes(hashlib.sha256(b"smlab bench " + tag + bytes(eui)).digest(), "big") % (n - 1) + 1
    return ec.derive_private_key(d, ec.SECP256R1())


def _key_bytes(k):
    return k.private_numbers().private_value.to_bytes(32, "big")


def _compressed_pub(k):
    return k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


class Premises:
    def __init__(self, workdir, keys, meters=1, seed=1, topology=None, pcap=True, heap="512K", boards_dir=None,
                 hub_name="hub", meter_prefix="m", air=None, ihd=False, preconfigured=False, index=0,
                 id_base=0, ihd_name="ihd", ihd_interval_ms=IHD_INTERVAL_MS, parties=None, flash_kb=2048,
                 gsme=False, gsme_name="gsme"):
        from host_tools.han.air import Air, Topology

        self.dir = workdir
        self.keys = keys
        parties = parties if parties is not None else pki.load_keystore(keys)
        devs = sorted(e for e in parties if e[:4] == b"\x02SML" and e[4] == 1)
        hubs = [e for e in devs if e[5] == pki.DEVICE_TYPES["chf"]]
        esmes = [e for e in devs if e[5] == pki.DEVICE_TYPES["esme"]]
        if len(hubs) <= index or len(esmes) < (index + 1) * meters:
            raise registry.BoardError("the key store needs %d chf and %d esme devices" % (index + 1, (index + 1) * meters))
        self.gsme_eui = self.gpf_eui = None
        if gsme:
            gsmes = [e for e in devs if e[5] == pki.DEVICE_TYPES["gsme"]]
            gpfs = [e for e in devs if e[5] == pki.DEVICE_TYPES["gpf"]]
            if len(gsmes) <= index or len(gpfs) <= index:
                raise registry.BoardError("the key store needs %d gsme and %d gpf devices" % (index + 1, index + 1))
            self.gsme_eui, self.gpf_eui = gsmes[index], gpfs[index]
        self.parties = parties
        self.hub_eui = hubs[index]
        self.meter_euis = esmes[index * meters:(index + 1) * meters]
        self.ihd_eui = ihd_eui(self.hub_eui) if ihd else None
        self.preconfigured = preconfigured
        self.id_base = id_base
        self.ihd_interval_ms = ihd_interval_ms
        self._preset = None
        self.pcap_path = os.path.join(workdir, "han.pcap") if pcap else None
        if air is None:
            air = Air(0, topology=Topology.parse(topology) if topology else None, seed=seed,
                      pcap_path=self.pcap_path, channel=CHANNEL)
        self.air = air
        bd = boards_dir or workdir
        self.hub = VBoard(os.path.join(bd, hub_name), flash_kb=flash_kb, heap=heap, eui64=self.hub_eui.hex())
        self.meters = [VBoard(os.path.join(bd, "%s%d" % (meter_prefix, i + 1)), flash_kb=flash_kb, heap=heap,
                              eui64=e.hex()) for i, e in enumerate(self.meter_euis)]
        self.ihd = (VBoard(os.path.join(bd, ihd_name), flash_kb=flash_kb, heap=heap, eui64=self.ihd_eui.hex())
                    if ihd else None)
        self.gsme = (VBoard(os.path.join(bd, gsme_name), flash_kb=flash_kb, heap=heap, eui64=self.gsme_eui.hex())
                     if gsme else None)
        self.wan = None

    def boards(self):
        return ([self.hub] + self.meters + ([self.ihd] if self.ihd is not None else [])
                + ([self.gsme] if self.gsme is not None else []))

    def role_of(self, vb):
        return ("chf" if vb is self.hub else "ihd" if vb is self.ihd else "gsme" if vb is self.gsme
                else "esme")

    def device_ids(self):
        """The air's device id of each board (its ZEP device id), in boards() order."""
        return [self.id_base + i + 1 for i in range(len(self.boards()))]

    def prepare(self, air_port):
        """Board directories configured (role and EUI, radio on the air at `air_port`, the hub's WAN
        port) without starting anything."""
        from host_tools.han.air import configure_board

        for vb, dev in zip(self.boards(), self.device_ids()):
            registry.write_meta(vb.path, {"role": self.role_of(vb), "eui": vb.eui64})
            configure_board(vb.path, air_port, dev, channel=CHANNEL)
        w = registry.ensure_wan(self.hub.path)
        self.wan = (w["host"], int(w["port"]))

    def start(self, timeout=60):
        self.air.start()
        self.prepare(self.air.port)
        for vb in self.boards():
            vb.start(timeout=timeout)
        return self

    def start_fast(self, timeout=120):
        """The air started, then the boards flashed from one prebuilt image and started under one
        supervisor (start_many_premises); they boot their firmware unprovisioned."""
        self.air.start()
        start_many_premises([self], self.air.port, self.dir, timeout=timeout)
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

    def preset(self):
        """(hub records, {eui: device records}) of the pre-configured HAN (firmware/han/preset.py),
        drawn once; the keys also go to <workdir>/han-keys.json for Wireshark."""
        with _PRESET_LOCK:  # boards are provisioned from parallel threads: one draw per premises
            if self._preset is None:
                self._preset = self._draw_preset()
        return self._preset

    def _draw_preset(self):
        import json

        from firmware.han import preset as P
        from host_tools.util import ignore_all, write_atomic

        nwk = os.urandom(16)
        devices = [(e, os.urandom(16)) for e in self.meter_euis + ([self.ihd_eui] if self.ihd_eui else [])
                   + ([self.gsme_eui] if self.gsme_eui else [])]
        partners = []
        if self.ihd_eui:
            partners.append((self.meter_euis[0], self.ihd_eui, P.TYPE2, os.urandom(16)))
        hub, devs = P.records(self.hub_eui, nwk, devices, pan=PAN, partners=partners)
        if self.ihd_eui:
            devs[self.ihd_eui]["ihd"] = {"meter": self.meter_euis[0].hex(), "interval_ms": self.ihd_interval_ms}
        os.makedirs(self.dir, exist_ok=True)
        ignore_all(self.dir)
        keys = {"nwk": nwk.hex().upper(), "tc_link": {e.hex().upper(): k.hex().upper() for e, k in devices},
                "app_link": [{"a": a.hex().upper(), "b": b.hex().upper(), "key": k.hex().upper()}
                             for a, b, _, k in partners]}
        write_atomic(os.path.join(self.dir, "han-keys.json"), json.dumps(keys, indent=1), sync=False)
        return hub, devs

    def payload(self, vb):
        eui = bytes.fromhex(vb.eui64)
        hub = self.parties[self.hub_eui]
        if vb is self.hub:
            p = provision.payload(self.keys, eui, role="chf", parties=self.parties)
            peers = {e.hex(): _compressed(self.parties[e]).hex() for e in self.meter_euis}
            if self.ihd_eui:
                peers[self.ihd_eui.hex()] = _compressed_pub(bench_key(b"ka", self.ihd_eui)).hex()
            if self.gsme_eui:
                peers[self.gsme_eui.hex()] = _compressed(self.parties[self.gsme_eui]).hex()
            p["han"] = {"pan": PAN, "channel": CHANNEL, "peers": peers}
            if self.preconfigured:
                p["preset"] = self.preset()[0]
            return p
        han = {"install_code": install_code(eui).hex(), "tc": self.hub_eui.hex(),
               "tc_ka": _compressed(hub).hex(), "channel": CHANNEL}
        if vb is self.ihd:
            p = {"v": 1, "role": "ihd", "eui": eui.hex(), "ka": _key_bytes(bench_key(b"ka", eui)).hex(),
                 "ds": _key_bytes(bench_key(b"ds", eui)).hex(), "cells": [], "han": han}
            if not self.preconfigured:
                p["preset"] = {"ihd": {"meter": self.meter_euis[0].hex(), "interval_ms": self.ihd_interval_ms}}
        elif vb is self.gsme:
            p = provision.payload(self.keys, eui, role="gsme", parties=self.parties)
            p["han"] = han
        else:
            p = provision.payload(self.keys, eui, role="esme", parties=self.parties)
            p["han"] = han
        if self.preconfigured:
            p["preset"] = self.preset()[1][eui]
        return p

    def gpf_payload(self):
        """The provisioning payload of the hub's Gas Proxy Function (a device of the key store)."""
        return provision.payload(self.keys, self.gpf_eui, role="gpf", parties=self.parties)

    def provision_one(self, vb):
        """One board provisioned (its payload; on the hub, then the GPF in its own store and the CHF's
        record naming the GSME) and reset into its firmware."""
        if vb is self.hub and self.gsme_eui:
            from host_tools.boards.flash import RawRepl
            from host_tools.boards.gaspremises import gpf_code

            # one raw-REPL session for the CHF and its GPF: leaving the raw REPL between the two lets
            # the provisioned firmware start, and the next connection then races its boot
            with RawRepl(vb.console) as b:
                out = b.exec(provision.device_code(self.payload(vb)) + gpf_code(self.gpf_payload(), self.gsme_eui))
            out = out.decode()
            if "PROVISIONED " not in out or "GPF-OK" not in out:
                raise registry.BoardError("the hub did not provision its CHF and GPF: %s" % out.strip()[-300:])
        else:
            provision.provision_board(vb.console, self.payload(vb))
        vb.reset_to_app()

    def gas_read(self, use_case="GCS13a", counter=None):
        """A GPF read over the WAN for the bench PKI, as RTDS has it (GAS_READS: GCS13a "Read GSME
        Consumption", Read Attributes on Metering; GCS60a "Read Meter Balance", Metering and
        Prepayment CreditRemaining), from the key store's supplier, MAC'd with its ACB's KA key (a
        non-critical command; GBCS §4.3.3). Returns (raw, originator counter)."""
        from firmware.gbcs import gbz
        from host_tools.gbcs import usecases
        from host_tools.gbcs import verify as V

        code, reads = GAS_READS[use_case]
        sup, acb = _org(self.parties, "supplier"), _org(self.parties, "accessControlBroker")
        if counter is None:
            counter = usecases.next_counter(self.keys, sup.eui, self.gpf_eui)
        comps = [gbz.Component(cl, 0x00, i, 0x00, bytes.fromhex(attrs)) for i, (cl, attrs) in enumerate(reads)]
        raw = V.build_command(sup.eui, self.gpf_eui, counter, code, gbz.build(gbz.Gbz(comps)),
                              acb_ka_priv=acb.private["ka"],
                              device_ka_pub=_compressed(self.parties[self.gpf_eui]))
        return raw, counter

    def check_gas_read(self, resp, counter):
        """The GPF's response to gas_read(): its MAC verified with the supplier's KA key and the GPF's,
        the counter and originator matched; returns [(cluster, ZCL command, payload)] of its GBZ."""
        from firmware.gbcs import frame, gbz
        from host_tools.gbcs import verify as V

        m = frame.parse(bytes(resp))
        sup = _org(self.parties, "supplier")
        if m.cra != frame.CRA_RESPONSE or bytes(m.originator) != self.gpf_eui or m.counter != counter:
            raise registry.BoardError("not the GPF's response to %d: %r" % (counter, (m.cra, m.originator, m.counter)))
        if not V.verify_mac(m, sup.private["ka"], _compressed(self.parties[self.gpf_eui])):
            raise registry.BoardError("the GPF's response MAC does not verify")
        return [(c.cluster, c.cmd, bytes(c.payload)) for c in gbz.parse(m.content, m.message_code).components]

    def provision(self, boards=None):
        """Provision the boards (default: all; identity, keys, trust anchors, its "han" record) and
        reset each into its firmware, in parallel; a GSME after the others, once its hub runs (a wake
        the hub does not answer is not retried before the next one, 30 min later)."""
        boards = boards or self.boards()
        for phase in ([vb for vb in boards if vb is not self.gsme], [vb for vb in boards if vb is self.gsme]):
            if phase:
                self._parallel(self.provision_one, phase)

    def stop(self):
        for vb in self.boards():
            try:
                vb.stop()
            except OSError:
                pass  # already gone
        self.air.stop()


def start_many_premises(premises, air_port, workdir, flash_kb=2048, timeout=None, per_process=0):
    """Every board of `premises` configured on the air at `air_port`, flashed from ONE prebuilt
    littlefs image of the firmware (host_tools/boards/image.py, built in `workdir`), started under
    shared supervisor processes (vboard.start_many; `per_process` boards each, 0: one for all), its
    files' hashes checked by the board itself, and booted into its (unprovisioned) firmware."""
    import time

    from host_tools.boards import image, vboard

    vbs = [vb for p in premises for vb in p.boards()]
    timeout = timeout or max(120, len(vbs))
    for p in premises:
        p.prepare(air_port)
    img = os.path.join(workdir, "firmware-%dk.img" % flash_kb)
    with tempfile.TemporaryDirectory() as tmp:
        image.write_image(img, flash.firmware_files("host", tmp), flash_kb)
    offsets = [image.copy_to(img, vb.path) for vb in vbs]
    vboard.start_many(vbs, timeout=timeout, per_process=per_process)
    image.wait_verified(vbs, offsets, timeout=timeout)
    # take a REPL only once the firmware idles (shows its first line), never while it imports
    deadline = time.monotonic() + timeout
    for vb in vbs:
        while not any(ln.startswith(("NOT PROVISIONED", "READY")) for ln in vb.display_lines()):
            if time.monotonic() > deadline:
                raise registry.BoardError("%s: the firmware did not boot within %.0f s" % (vb.path, timeout))
            time.sleep(0.05)
    return vbs


def provision_many(premises, workers=8):
    """Provision every board of `premises` (Premises.payload) and reset each into its firmware, at
    most `workers` boards at a time, the GSMEs once every other board runs (Premises.provision);
    BoardError naming the boards that failed."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(p, vb) for p in premises for vb in p.boards() if vb is not p.gsme]
    gas = [(p, p.gsme) for p in premises if p.gsme is not None]
    errs = []

    def one(job):
        p, vb = job
        try:
            p.provision_one(vb)
        except Exception as e:  # collected: every board is tried, the failures reported together
            errs.append("%s: %s: %s" % (os.path.basename(vb.path), type(e).__name__, e))
    for phase in (jobs, gas):
        with ThreadPoolExecutor(max_workers=workers) as ex:
            list(ex.map(one, phase))
    if errs:
        raise registry.BoardError("%d board(s) failed: %s" % (len(errs), "; ".join(sorted(errs)[:3])))


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
    def stop_dir(state_dir, wait=5.0):
        """SIGTERM the air whose state is in state_dir and wait (at most `wait` s) until it has
        ended: it closes its capture on the way out. Returns its state (None: no air there)."""
        import signal
        import time

        st = DetachedAir.state(state_dir)
        if st and st.get("pid"):
            try:
                os.kill(st["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass  # already gone
            deadline = time.monotonic() + wait
            while DetachedAir.running(state_dir) and time.monotonic() < deadline:
                time.sleep(0.05)
        return st

    @staticmethod
    def running(state_dir):
        """True while the air of state_dir runs (a zombie counts as ended)."""
        from host_tools.boards.vboard import pid_alive

        st = DetachedAir.state(state_dir)
        return bool(st and st.get("pid")) and pid_alive(st["pid"])

    def stop(self):
        DetachedAir.stop_dir(self.dir)

    def stats(self):
        return {}


def capture_kinds(pcap_path, nwk_key):
    """What a premises' capture holds, decoded with its network key (or {air device id: network
    key} for a capture of several premises) with the firmware's own parsers:
    {"frames", "beacon", "mac_command" (beacon requests, associations), "nwk_unsecured" (a
    Transport-Key goes NWK-unsecured), "zdp" (Device_annce ...), "clusters": {cluster: n} of the APS
    data frames, "aps_commands", "undecoded"}. A join shows in every one of beacon, mac_command,
    nwk_unsecured, zdp and cluster 0x0800 (CBKE); a pre-configured premises in none."""
    import struct

    from firmware.alerts import Reject
    from firmware.zigbee import aps, mac, nwk
    from host_tools.han import zep

    out = {"frames": 0, "beacon": 0, "mac_command": 0, "nwk_unsecured": 0, "zdp": 0, "clusters": {},
           "aps_commands": 0, "undecoded": 0}
    with open(pcap_path, "rb") as f:
        data = f.read()
    p = 24
    while len(data) - p >= 16:
        _, _, n, _ = struct.unpack("<IIII", data[p:p + 16])
        rec = data[p + 16:p + 16 + n]
        p += 16 + n
        out["frames"] += 1
        try:
            z = zep.decode(rec[42:])
            m = mac.parse(z["psdu"])
            if m.ftype == mac.BEACON:
                out["beacon"] += 1
                continue
            if m.ftype == mac.COMMAND:
                out["mac_command"] += 1
                continue
            if m.ftype != mac.DATA:
                continue
            fr = nwk.parse(m.payload)
            if not fr.security:
                out["nwk_unsecured"] += 1
                continue
            key = nwk_key.get(z["device_id"]) if isinstance(nwk_key, dict) else nwk_key
            a = aps.parse(nwk.open_(fr, key))
            if a.ftype == aps.COMMAND:
                out["aps_commands"] += 1
            elif a.ftype == aps.DATA:
                if a.profile == aps.PROFILE_ZDP:
                    out["zdp"] += 1
                else:
                    out["clusters"][a.cluster] = out["clusters"].get(a.cluster, 0) + 1
        except (Reject, zep.ZepError, ValueError, IndexError, TypeError):  # TypeError: no key for the node
            out["undecoded"] += 1
    return out


def stop_detached(names, home, air_dir):
    """Stop the virtual boards `names` (one already removed is skipped) and the detached air whose
    state is in air_dir (`smlab han stop`, `smlab gas stop`)."""
    for name in names:
        try:
            registry.vboard(name, home).stop()
        except registry.BoardError:
            pass  # removed meanwhile: nothing to stop
    DetachedAir.stop_dir(air_dir)


def status_detached(st, names, home, air_dir):
    """{"text", "data"} of a premises started by a `start` command: its state `st`, a row per board
    of `names` and whether the detached air of air_dir still runs (`smlab han|gas status`)."""
    rows = [registry.describe(n, home) for n in names]
    alive = DetachedAir.running(air_dir)
    lines = ["%-8s %-5s %-16s %-8s %s" % (r["name"], r["role"], r["eui"], r["state"], r.get("wan") or "")
             for r in rows]
    lines.append("air %s on udp %s, capture %s" % ("running" if alive else "stopped", st["air_port"], st["pcap"]))
    return {"text": "\n".join(lines), "data": dict(st, boards=rows, air_running=alive)}

