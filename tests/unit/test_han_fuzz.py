"""Random and mutated HAN frames at the hub and at a meter (firmware/han/hub.py, device.py;
docs/han.md §11 "Fuzz"): the real stacks in one process, each frame fed to the node's radio and
polled. Frames: the capture of a genuine join (beacons, association, Transport-Key, CBKE,
APS-secured application frames, a refused joiner), mutated (bit flips, byte changes,
truncation, extension, splices; most with the FCS recomputed so they reach NWK/APS/ZCL), and
random bytes. Checked after every batch:
  * no crash: nothing but a typed rejection ever escapes a parser (poll() catches Reject only);
  * no state change: the hub's Device Log (entries, install codes, link keys and hashes, windows),
    Historic Device Log, network key, the incoming frame-counter tables of both nodes, and the
    meter's join record (PAN, short address, keys) are as before;
  * no join: the hub's join count and Device Log link keys unchanged.
A refusal of a fuzzed joiner that is not in the log is the hub's intended reaction (logged and
alerted, han.md §5) and is counted, not treated as a state change; the hub's own outgoing counter
reservations only grow. bench/bench_han_fuzz.py runs >= 100,000 frames; this runs a slice.

MP_HEAPSIZE: the hub role, both stacks and CBKE compiled from source in one process."""
MP_HEAPSIZE = "512K"
import _t
import han_fixtures as H

SEED = 0x5EED


class Rng:
    """xorshift32: the same frames under CPython and MicroPython."""

    def __init__(self, seed):
        self.s = seed or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def below(self, n):
        return self.next() % n

    def bytes(self, n):
        return bytes(self.next() & 0xFF for _ in range(n))


def corpus():
    """(net, frames): a hub with meter 0 joined, and every frame of the join of meter 0, a
    refused meter 1 and application traffic both ways."""
    from firmware.han.port import HanPort
    from firmware.zigbee import zcl

    net = H.Net(2, logged=(0,), record=True)
    hp, dp = HanPort(net.hub), HanPort(net.devs[0])
    net.run(lambda: net.devs[0].joined and net.devs[1].refusals > 0)
    z = zcl.build(zcl.Header(zcl.CLUSTER, 7, zcl.TUNNEL_REQUEST), b"\x06\xff\xff\x00\xdc\x05")
    hp.send(H.dev_eui(0), zcl.TUNNELING, z)
    dp.send(H.HUB_EUI, zcl.TUNNELING, z)
    net.poll()
    hp.recv()
    dp.recv()
    frames = [f for _, f in net.air.frames]
    net.air.frames = None
    net.devs[1] = None  # the refused meter leaves: only the hub and meter 0 remain
    return net, frames


def mutate(rng, frames):
    from firmware.zigbee.mac import fcs

    k = rng.below(10)
    if k == 0:
        return rng.bytes(rng.below(128))  # random bytes (FCS almost always wrong)
    if k == 1:
        b = rng.bytes(rng.below(126) + 3)
        return b[:-2] + fcs(b[:-2])  # random body, valid FCS
    f = bytearray(frames[rng.below(len(frames))])
    body = f[:-2]
    for _ in range(1 + rng.below(4)):
        op = rng.below(6)
        if op == 0 and body:
            i = rng.below(len(body))
            body[i] ^= 1 << rng.below(8)
        elif op == 1 and body:
            body[rng.below(len(body))] = rng.below(256)
        elif op == 2 and body:
            body = body[:rng.below(len(body))]
        elif op == 3:
            body += rng.bytes(rng.below(16))
        elif op == 4:
            g = frames[rng.below(len(frames))][:-2]
            cut = rng.below(len(g) + 1)
            body = body[:rng.below(len(body) + 1)] + g[cut:]
        else:
            i = rng.below(len(body) + 1)
            body = body[:i] + body[i + rng.below(4):]
    body = bytes(body[:125])
    if k == 9:
        return body + rng.bytes(2)  # FCS not recomputed
    return body + fcs(body)


def state(net):
    from firmware.han.device import JOIN_REC

    hub, dev = net.hub, net.devs[0]
    dl = hub.role.devlog
    dl.reload()
    s = dl._state()
    return (repr([list(e) for e in s["d"]]), repr(s["h"]), s["pan"], hub.nwk_key, hub.joins,
            repr(sorted(hub.link.nwk.inc._last.items())), repr(sorted(hub.link.aps.inc._last.items())),
            repr(dev.store.get_json(JOIN_REC)), dev.state, dev.tc_link,
            repr(sorted(dev.link.nwk.inc._last.items())),
            repr(sorted(dev.link.aps.inc._last.items())))


def run(n, seed=SEED, check_every=500, net=None, frames=None):
    """Feed n frames (alternately to the hub and the meter); returns a dict of counts."""
    if net is None:
        net, frames = corpus()
    rng = Rng(seed)
    before = state(net)
    hub, dev = net.hub, net.devs[0]
    joins0 = hub.joins
    refusals0 = hub.refusals
    hub_dropped0, dev_dropped0 = hub.link.dropped, dev.link.dropped
    for i in range(n):
        f = mutate(rng, frames)
        if i & 1:
            net.dev_radios[0].q.append(f)
            dev.poll()
        else:
            net.hub_radio.q.append(f)
            hub.poll()
        for r in net.air.radios:  # answers the nodes sent: nobody else listens here
            r.q = []
        net.clock.t += 1
        if (i + 1) % check_every == 0 or i == n - 1:
            now = state(net)
            assert now == before, "state changed after frame %d: %r" % (i, f)
    assert hub.joins == joins0 and dev.joined
    return {"frames": n, "hub_dropped": hub.link.dropped - hub_dropped0,
            "meter_dropped": dev.link.dropped - dev_dropped0,
            "refusals_alerted": hub.refusals - refusals0, "net": net}


def test_fuzz_slice():
    r = run(3000)
    try:
        assert r["hub_dropped"] + r["meter_dropped"] > 1000  # most frames reached a parser and failed
    finally:
        r["net"].cleanup()


def test_genuine_frames_replayed_change_nothing():
    """Every frame of the genuine join and traffic, replayed to both nodes: the secured ones are
    replays (refused), the rest are answered without a state change or a second join."""
    net, frames = corpus()
    try:
        before = state(net)
        for f in frames:
            net.hub_radio.q.append(f)
            net.hub.poll()
            net.dev_radios[0].q.append(f)
            net.devs[0].poll()
            for r in net.air.radios:
                r.q = []
        assert state(net) == before
    finally:
        net.cleanup()


def main(n, seed=SEED):
    """bench/bench_han_fuzz.py's entry: prints one @@HAN_FUZZ line."""
    import time

    t0 = time.time()
    r = run(n, seed, check_every=1000)
    r["net"].cleanup()
    print("@@HAN_FUZZ frames=%d hub_dropped=%d meter_dropped=%d refusals_alerted=%d crashes=0 "
          "state_changes=0 joins=0 seconds=%.1f" % (r["frames"], r["hub_dropped"],
                                                    r["meter_dropped"], r["refusals_alerted"],
                                                    time.time() - t0))
