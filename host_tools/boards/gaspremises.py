"""A gas premises of virtual boards (docs/gas.md "On virtual boards"): the RTDS Comms Hub
00DB1234567890A2 carrying the RTDS Gas Proxy Function 00DB1234567890A3 on one board (its WAN endpoint
on loopback, firmware/wan/gasproxy.py routing), and the RTDS gas meter 00DB1234567890A1 on another,
their radios on one air (host_tools/han/air.py: ZEP v2 over UDP, every frame to a pcap). Identities
and bench static ECDH secrets as the RTDS runner provisions them (host_tools/gbcs/chf_rtds.py,
gpf_rtds.py, gsme_rtds.py); HAN records as host_tools/gbcs/gas_premises.py han_premises has them
(the GSME's install code, the hub's and the GSME's bench KA keys for CBKE). Both boards' clocks are
virtual (sim.json), from the RTDS corpus time.

    p = GasPremises(workdir, hub_heap="1024K")  # air=premises.DetachedAir(dir): the air outlives us
    p.start(); p.flash(); p.provision()       # boards up, firmware image, identities + reset
    p.log_gsme()                              # CCS01 from the ACB over the WAN: the GSME may join
    p.provision_gsme()                        # the GSME provisioned and reset: it joins, wakes, reports
    p.advance(1800)                           # both clocks 30 min on: the GSME's next wake
    p.stop()

CPython only; needs ../shared's RTDS keystore (host_tools/gbcs/corpus.py).
"""
import binascii
import json
import os
import tempfile
import time

from host_tools.boards import registry, simctl
from host_tools.boards.vboard import VBoard
from host_tools.gbcs import corpus as C

HUB = bytes.fromhex("00db1234567890a2")
GPF = bytes.fromhex("00db1234567890a3")
GSME = bytes.fromhex("00db1234567890a1")
ACB = bytes.fromhex("90b3d51f30000002")
SUPPLIER = bytes.fromhex("90b3d51f30010000")
CODE = b"0123456789ABCDEF"  # the GSME's install code (the RTDS CCS01's)
PAN = 0x1A62
CHANNEL = 11
T0 = 1420070400  # 2015-01-01 00:00:00 UTC, the RTDS corpus time


def _pub(priv32):
    from firmware.zigbee import cbke

    return cbke.public_key_of(priv32)


def gpf_code(payload, gsme):
    """MicroPython source for the hub board's raw REPL: the GPF's store (firmware/wan/gasproxy.py
    GPF_DIR under the storage root) provisioned with `payload`, and the CHF's record naming the GSME
    it serves. Prints GPF-OK and the provisioning summary."""
    return ("import json, board\n"
            "from firmware import provisioning\n"
            "from firmware.store.durable import Store\n"
            "from firmware.wan.gasproxy import GPF_DIR, GPF_REC\n"
            "_b = board.get()\n"
            "_r = _b.storage_root().rstrip('/')\n"
            "_s = provisioning.apply(Store(_r + GPF_DIR), json.loads(%r), None, _r + '/vk')\n"
            "_b.store().put_json(GPF_REC, {'gsme': %r})\n"
            "print('GPF-OK', json.dumps(_s))\n" % (json.dumps(payload, separators=(",", ":")), gsme.hex()))


def ccs01(keys, counter, supp_counter, device=GSME, code=CODE, window=3600):
    """The ACB's CCS01 to the RTDS hub for `device` (the RTDS CCS01 shape: register_device, SET
    join_timeout, SET enable joining), MAC'd with the ACB's published KA key."""
    from firmware.gbcs import dlms, dlms_client
    from host_tools.gbcs import hub as H
    from host_tools.gbcs import verify as V

    specs = [(dlms.ACTION, H.CLASS_ZIGBEE_NETWORK_CONTROL, H.OBIS_NETWORK_CONTROL, 1),
             (dlms.SET, H.CLASS_ZIGBEE_NETWORK_CONTROL, H.OBIS_NETWORK_CONTROL, 3),
             (dlms.SET, H.CLASS_ZIGBEE_NETWORK_CONTROL, H.OBIS_NETWORK_CONTROL, 2)]
    data = [(dlms.STRUCTURE, [(dlms.OCTET_STRING, bytes(device)), (dlms.ENUM, 1),
                              (dlms.OCTET_STRING, bytes(code)), (dlms.ENUM, 0)]),
            (dlms.LONG_UNSIGNED, int(window)), (dlms.BOOLEAN, True)]
    content = dlms_client.build_request(0x20000000 | (counter & 0xFFFFFF), specs, data)
    return V.build_command(ACB, HUB, counter, H.CCS01, content, acb_ka_priv=keys.parties[ACB].priv["ka"],
                           device_ka_pub=keys.device_pub(HUB, "ka"), supp=(SUPPLIER, supp_counter))


class GasPremises:
    def __init__(self, workdir, keys=None, hub_heap="1024K", gsme_heap="512K", boards_dir=None,
                 hub_name="hub", gsme_name="gsme", pcap=True, air=None):
        from host_tools.han.air import Air

        self.dir = workdir
        self.keys = keys or C.Keystore(C.KEYSTORE)
        os.makedirs(workdir, exist_ok=True)
        if air is None:  # the air in this process (else e.g. premises.DetachedAir, its own process)
            self.pcap_path = os.path.join(workdir, "han.pcap") if pcap else None
            air = Air(0, seed=1, pcap_path=self.pcap_path, channel=CHANNEL)
        else:
            self.pcap_path = getattr(air, "pcap", None)
        self.air = air
        bd = boards_dir or workdir
        self.hub = VBoard(os.path.join(bd, hub_name), flash_kb=2048, heap=hub_heap, eui64=HUB.hex())
        self.gsme = VBoard(os.path.join(bd, gsme_name), flash_kb=2048, heap=gsme_heap, eui64=GSME.hex())
        self.wan = None
        self.counter = int(time.time()) * 16  # fresh originator counters for the host's commands

    def boards(self):
        return [self.hub, self.gsme]

    def next_counter(self):
        self.counter += 1
        return self.counter

    def start(self, timeout=60):
        from host_tools.han.air import configure_board

        self.air.start()
        for i, (vb, role) in enumerate(((self.hub, "chf"), (self.gsme, "gsme"))):
            registry.write_meta(vb.path, {"role": role, "eui": vb.eui64})
            configure_board(vb.path, self.air.port, i + 1, channel=CHANNEL)
            simctl.clock(vb.path, rate=1, set_to=T0)
        w = registry.ensure_wan(self.hub.path)
        self.wan = (w["host"], int(w["port"]))
        self.flash_offsets = self._image()
        for vb in self.boards():
            vb.start(timeout=timeout)
        return self

    def _image(self):
        """The firmware built once into a littlefs2 image, copied as both boards' flash."""
        from host_tools.boards import flash, image

        with tempfile.TemporaryDirectory() as tmp:
            img = image.write_image(os.path.join(tmp, "fw.img"), flash.firmware_files("host", tmp), 2048)
            return [image.copy_to(img, vb.path) for vb in self.boards()]

    def flash(self, timeout=120):
        """Wait until both boards checked the image's files (SHA-256 against /.hashes)."""
        from host_tools.boards import image

        return image.wait_verified(self.boards(), self.flash_offsets, timeout=timeout)

    def payloads(self):
        from host_tools.gbcs.chf_rtds import CHF_BENCH_KA, ChfRole
        from host_tools.gbcs.gpf_rtds import GpfRole
        from host_tools.gbcs.gsme_rtds import GSME_BENCH_KA, GsmeRole

        hx = lambda b: binascii.hexlify(bytes(b)).decode()  # noqa: E731
        hub = ChfRole().payload(self.keys)
        hub["han"] = {"pan": PAN, "channel": CHANNEL, "peers": {hx(GSME): hx(_pub(GSME_BENCH_KA))}}
        gsme = GsmeRole().payload(self.keys)
        gsme["han"] = {"install_code": hx(CODE), "tc": hx(HUB), "tc_ka": hx(_pub(CHF_BENCH_KA)),
                       "channel": CHANNEL}
        return hub, GpfRole().payload(self.keys), gsme

    def provision(self, gpf=True):
        """The hub: the CHF's identity, keys, anchors and HAN record, then (gpf) the GPF in its own
        store; reset into the firmware (the GSME: provision_gsme, after CCS01)."""
        from host_tools.boards.flash import RawRepl
        from host_tools.keys import provision

        hub, gpf_payload, _ = self.payloads()
        provision.provision_board(self.hub.console, hub)
        if not gpf:
            self.hub.reset_to_app()
            return
        with RawRepl(self.hub.console) as b:
            out = b.exec(gpf_code(gpf_payload, GSME)).decode()
        if "GPF-OK" not in out:
            raise registry.BoardError("the hub did not provision its GPF: %s" % out.strip()[-300:])
        self.hub.reset_to_app()

    def provision_gsme(self):
        from host_tools.keys import provision

        provision.provision_board(self.gsme.console, self.payloads()[2])
        self.gsme.reset_to_app()

    def log_gsme(self, client):
        """CCS01 for the GSME over the WAN (`client`: host_tools.gbcs.hub WanClient): the hub's
        response (MAC verified on the host) and the alerts that came with it."""
        from host_tools.gbcs import runner
        from firmware.gbcs import frame

        raw = ccs01(self.keys, self.next_counter(), self.next_counter())
        rsp = client.request(raw)
        ok, why, _, _ = runner.judge(frame.parse(raw), rsp, HUB, None, self.keys.device_pub(HUB, "ka"),
                                     self.keys.parties[ACB].priv["ka"])
        return ok, why

    def advance(self, seconds):
        """Both boards' virtual clocks `seconds` on, now (the running firmware reads it at once)."""
        for vb in self.boards():
            simctl.clock(vb.path, advance=seconds)

    def console(self, vb, offset=0):
        with open(os.path.join(vb.path, "console.log"), "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def wait_console(self, vb, text, offset=0, timeout=30):
        """Wait until `text` appears on the board's console after `offset`; True when it did."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.console(vb, offset):
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        for vb in self.boards():
            try:
                vb.stop()
            except OSError:
                pass  # already gone
        self.air.stop()
