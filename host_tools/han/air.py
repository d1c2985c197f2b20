"""The "air": a HAN medium for virtual boards (docs/han.md §9). Every node (a virtual board's
board.radio(), a host tool, an ESP-NOW bridge) sends its IEEE 802.15.4 frames as ZEP v2 datagrams
(host_tools/han/zep.py, CRC mode) over UDP to the air, which forwards each frame to the other
registered nodes by unicast, following a topology (per-link delivery probability and latency)
with a seeded RNG, and writes every frame it receives to a pcap (host_tools/han/pcap.py) that
tshark decodes ZEP -> 802.15.4 -> ZigBee NWK -> APS -> ZCL.

A node registers by sending anything: a frame, or the hello datagram b"EX\\x02\\xfe" + device id
(2 bytes BE) that board radios send when they open (type 0xFE is project-private: never forwarded
or captured). The node's device id is the ZEP header's; its UDP address is where it sent from.
A datagram that is not ZEP v2 data with a valid FCS is counted and dropped.

Topology file (text, one statement per line, `#` starts a comment; device ids are the ZEP device
ids, decimal):
    A B P_AB [P_BA [LATENCY_MS]]     link A <-> B: delivery probabilities A->B and B->A (P_BA
                                     defaults to P_AB), latency in ms (default 0) both ways
    default P [LATENCY_MS]           every pair not listed (without this line: 1.0 and 0 ms when
                                     the file lists no link, else 0: only listed links exist)
Repeatability: one random.Random(seed) draw per (frame, receiver) in arrival order, so the same
sequence of frames gives the same deliveries and losses.

Library:
    air = Air(port=0, topology=Topology.parse(text), seed=1, pcap_path="han.pcap")
    air.start()            # a daemon thread; air.port is the bound UDP port
    ...; air.stop()        # closes the pcap; air.stats() -> {"frames", "delivered", "lost", ...}
CLI: python -m host_tools.han.air [--port 17754] [--topology FILE] [--seed N] [--pcap FILE]
"""
import argparse
import heapq
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import threading
import time

from host_tools.han import pcap, zep

HELLO = b"EX\x02\xfe"
HOST = "127.0.0.1"


class Topology:
    """Delivery probability and latency per ordered pair of device ids."""

    def __init__(self, links=None, default=(1.0, 0.0)):
        self.links = links or {}  # (src, dst) -> (p, latency_s)
        self.default = default

    @classmethod
    def parse(cls, text):
        links = {}
        default = None
        for n, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            try:
                if line[0] == "default":
                    default = (float(line[1]), float(line[2]) / 1000 if len(line) > 2 else 0.0)
                    continue
                a, b, pab = int(line[0]), int(line[1]), float(line[2])
                pba = float(line[3]) if len(line) > 3 else pab
                lat = float(line[4]) / 1000 if len(line) > 4 else 0.0
            except (IndexError, ValueError):
                raise ValueError("topology line %d: %r" % (n, " ".join(line)))
            for p in (pab, pba):
                if not 0.0 <= p <= 1.0:
                    raise ValueError("topology line %d: probability %r" % (n, p))
            links[(a, b)] = (pab, lat)
            links[(b, a)] = (pba, lat)
        if default is None:
            default = (0.0, 0.0) if links else (1.0, 0.0)
        return cls(links, default)

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls.parse(f.read())

    def link(self, src, dst):
        return self.links.get((src, dst), self.default)


class Air:
    def __init__(self, port=0, host=HOST, topology=None, seed=0, pcap_path=None, channel=11):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((host, port))
        self.sock.setblocking(False)
        self.host, self.port = self.sock.getsockname()
        self.topology = topology or Topology()
        self.rng = random.Random(seed)
        self.nodes = {}  # device id -> UDP address
        self.queue = []  # (due, n, address, datagram)
        self._n = 0
        self.writer = pcap.Writer(pcap_path, channel=channel) if pcap_path else None
        self.counts = {"frames": 0, "delivered": 0, "lost": 0, "bad": 0, "hello": 0}
        self.frames = []  # (time, device id, psdu) when keep_frames
        self.keep_frames = False
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()

    @property
    def address(self):
        return (self.host, self.port)

    # -- one datagram ----------------------------------------------------------------------------
    def handle(self, data, addr, now=None):
        now = time.time() if now is None else now
        if data[:4] == HELLO and len(data) == 6:
            self.nodes[struct.unpack(">H", data[4:6])[0]] = addr
            self.counts["hello"] += 1
            return
        try:
            z = zep.decode(data)
        except zep.ZepError:
            self.counts["bad"] += 1
            return
        src = z["device_id"]
        self.nodes[src] = addr
        self.counts["frames"] += 1
        if self.writer is not None:
            self.writer.add_datagram(data, src, now)
            self.writer.f.flush()
        if self.keep_frames:
            self.frames.append((now, src, z["psdu"]))
        for dst in sorted(self.nodes):
            if dst == src:
                continue
            p, lat = self.topology.link(src, dst)
            if p < 1.0 and self.rng.random() >= p:
                self.counts["lost"] += 1
                continue
            if lat <= 0:
                self._deliver(self.nodes[dst], data)
            else:
                self._n += 1
                heapq.heappush(self.queue, (now + lat, self._n, self.nodes[dst], data))

    def _deliver(self, addr, data):
        try:
            self.sock.sendto(data, addr)
            self.counts["delivered"] += 1
        except OSError:
            self.counts["lost"] += 1

    def step(self, timeout=0.05):
        """Handle what arrives within `timeout` seconds and every delivery now due."""
        now = time.time()
        if self.queue:
            timeout = max(0.0, min(timeout, self.queue[0][0] - now))
        r, _, _ = select.select([self.sock], [], [], timeout)
        if r:
            for _ in range(256):
                try:
                    data, addr = self.sock.recvfrom(2048)
                except (BlockingIOError, InterruptedError):
                    break
                with self._lock:
                    self.handle(data, addr)
        now = time.time()
        while self.queue and self.queue[0][0] <= now:
            _, _, addr, data = heapq.heappop(self.queue)
            self._deliver(addr, data)

    def run(self):
        while not self._stop.is_set():
            self.step()

    def start(self):
        self._thread = threading.Thread(target=self.run, name="han-air", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.sock.close()
        if self.writer is not None:
            self.writer.close()

    def stats(self):
        d = dict(self.counts)
        d["nodes"] = sorted(self.nodes)
        return d

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def configure_board(board_dir, port, device_id, host=HOST, channel=11):
    """Point a virtual board's radio at an air: writes <board dir>/radio.json, which
    board.unix's radio() reads ({"air": [host, port], "id": device id, "channel": n})."""
    os.makedirs(board_dir, exist_ok=True)
    with open(os.path.join(board_dir, "radio.json"), "w") as f:
        json.dump({"air": [host, port], "id": device_id, "channel": channel}, f)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.han.air",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=zep.PORT, help="UDP port (default 17754)")
    ap.add_argument("--host", default=HOST)
    ap.add_argument("--topology", help="topology file (see the module docstring)")
    ap.add_argument("--seed", type=int, default=0, help="RNG seed for losses (default 0)")
    ap.add_argument("--pcap", help="write every frame to this pcap")
    ap.add_argument("--channel", type=int, default=11)
    a = ap.parse_args(argv)
    topo = Topology.load(a.topology) if a.topology else Topology()
    air = Air(a.port, a.host, topo, a.seed, a.pcap, a.channel)
    print("air listening on %s:%d (seed %d%s)" % (air.host, air.port, a.seed,
                                                 ", pcap " + a.pcap if a.pcap else ""), flush=True)
    stop = []
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda *x: stop.append(1))
    while not stop:
        air.step()
    air.stop()
    print(json.dumps(air.stats()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
