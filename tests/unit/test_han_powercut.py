"""Power cuts during HAN joins (firmware/han/, firmware/zigbee/counters.py; docs/han.md §3, §11
"Power cuts"): a hub and two logged meters join, then exchange APS-secured application frames;
power is cut at the n-th store write of the scenario (n = every write of an uncut run), the node
that was writing loses its RAM (its radio queue too) and boots again from its store, and the
scenario runs to the end. Checked for every cut point:
  * no frame counter is ever reused: over every secured frame on air, each (sender, layer, frame
    counter) appears once (NWK with the network key; APS with link / key-transport keys: one
    outgoing APS counter per device), so no CCM* nonce repeats under a key;
  * every meter ends joined, and the hub's TC link key for it equals the meter's;
  * the hub boots after every cut (Device Log readable) and never logs a device twice.
Cuts are "clean" (the write does not happen) and "torn" (the new record's temporary file is
half written, never renamed): the store's records are atomic (write + rename), so a torn write
leaves the old record. bench/bench_han_powercut.py runs more scenarios.

MP_HEAPSIZE: the hub role, both stacks and CBKE compiled from source in one process."""
MP_HEAPSIZE = "512K"
import _t
import han_fixtures as H
from firmware.store.durable import Store


class PowerCut(Exception):
    pass


class Meter:
    """The write counter shared by every store of the scenario."""

    active = False  # counting starts once the scenario's nodes are provisioned and logged
    writes = 0
    cut_at = -1
    torn = False
    cut_root = None


class CutStore(Store):
    def _write_atomic(self, fname, *parts):
        m = Meter
        if not m.active:
            return Store._write_atomic(self, fname, *parts)
        m.writes += 1
        if m.writes == m.cut_at:
            m.cut_root = self.root
            if m.torn:
                with open(self._path(fname + ".tmp"), "wb") as f:
                    b = b"".join(bytes(p) for p in parts)
                    f.write(b[:len(b) // 2])
            raise PowerCut()
        return Store._write_atomic(self, fname, *parts)


def _secured(frames, nwk_key):
    """[(sender, layer, fc)] of every secured NWK / APS frame."""
    from firmware.alerts import Reject
    from firmware.zigbee import aps, mac, nwk

    out = []
    for f in frames:
        try:
            m = mac.parse(f)
            if m.ftype != mac.DATA:
                continue
            n = nwk.parse(m.payload)
        except Reject:
            continue
        if n.security:
            out.append((n.aux.src, "nwk", n.aux.fc))
            nwk.open_(n, nwk_key)
        a = aps.parse(n.payload)
        if a.security:
            out.append((a.aux.src if a.aux.ext_nonce else n.aux.src, "aps", a.aux.fc))
    return out


def scenario(cut_at=-1, torn=False, devices=2, traffic=3):
    """One run; returns (writes done, cut happened, check failures [])."""
    from firmware.han.port import HanPort
    from firmware.zigbee import zcl

    m = Meter
    m.active, m.writes, m.cut_at, m.torn, m.cut_root = False, 0, cut_at, torn, None
    net = H.Net(devices, logged=range(devices), record=True, store_cls=CutStore)
    m.active = True
    bad = []
    cuts = 0
    try:
        def step(fn):
            nonlocal cuts
            try:
                fn()
                return True
            except PowerCut:
                cuts += 1
                m.cut_at = -1
                root = m.cut_root
                if root.endswith("/hub"):
                    net.hub_radio.q = []
                    net.boot_hub()
                    net.hub.role.devlog.entries()  # the hub boots and reads its log
                else:
                    i = int(root.rsplit("dev", 1)[1])
                    net.dev_radios[i].q = []
                    net.boot_dev(i)
                return False

        def all_joined():
            return all(d.joined for d in net.devs)

        for _ in range(4000):
            if all_joined():
                break
            step(net.poll)
        if not all_joined():
            bad.append("not joined: %r" % [d.state for d in net.devs])
        for k in range(traffic):  # application frames both ways
            for i, d in enumerate(net.devs):
                z = zcl.build(zcl.Header(zcl.CLUSTER, k, zcl.TUNNEL_REQUEST), bytes((k, i)))
                step(lambda: HanPort(net.hub).send(H.dev_eui(i), zcl.TUNNELING, z))
                step(lambda: HanPort(d).send(H.HUB_EUI, zcl.TUNNELING, z))
                step(net.poll)
        dl = net.hub.role.devlog
        for i, d in enumerate(net.devs):
            if dl.link_key(H.dev_eui(i)) != d.tc_link:
                bad.append("TC link key of meter %d differs" % i)
        if len(dl.euis()) != devices:
            bad.append("Device Log has %d entries" % len(dl.euis()))
        seen = {}
        for key in _secured([f for _, f in net.air.frames], net.hub.nwk_key):
            if key in seen:
                bad.append("frame counter reused: %016X %s %d" % key)
            seen[key] = 1
        return m.writes, cuts, bad, len(seen)
    finally:
        m.active = False
        net.cleanup()


def campaign(devices=2, traffic=3, torn_too=True, every=1, show=0):
    """Cut at every `every`-th write of the uncut scenario (clean, and torn); returns
    (cut points, violations, writes of the uncut run)."""
    total, cuts, bad, nsec = scenario(devices=devices, traffic=traffic)
    assert not bad and cuts == 0, bad
    points = violations = 0
    for torn in ((False, True) if torn_too else (False,)):
        for n in range(1, total + 1, every):
            w, c, b, _ = scenario(n, torn, devices, traffic)
            points += 1
            if c != 1:
                b = b + ["the cut at write %d did not happen" % n]
            if b:
                violations += 1
                if show:
                    print("cut at %d%s: %r" % (n, " torn" if torn else "", b[:3]))
    return points, violations, total


def test_uncut_scenario_has_no_counter_reuse():
    total, cuts, bad, nsec = scenario()
    assert not bad and cuts == 0 and total > 20 and nsec > 20


def test_cut_at_every_write_of_one_join():
    """One meter joins: a cut at every store write (clean and torn)."""
    points, violations, total = campaign(devices=1, traffic=2)
    assert points == 2 * total and violations == 0


def test_counter_reuse_is_detected():
    """The check can fail: frames whose counters repeat are reported."""
    from firmware.zigbee import mac

    net = H.Net(1, logged=(0,), record=True)
    try:
        net.run(lambda: net.devs[0].joined)
        frames = [f for _, f in net.air.frames]
        key = net.hub.nwk_key
    finally:
        net.cleanup()
    sec = _secured(frames + [f for f in frames if mac.parse(f).ftype == mac.DATA][-1:], key)
    assert len(sec) != len(set(sec))


def main(devices=2, traffic=3, every=1):
    """bench/bench_han_powercut.py's entry: prints one @@HAN_POWERCUT line."""
    points, violations, total = campaign(devices, traffic, True, every, show=1)
    print("@@HAN_POWERCUT devices=%d writes=%d cut_points=%d violations=%d"
          % (devices, total, points, violations))
