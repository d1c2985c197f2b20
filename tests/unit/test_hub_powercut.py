"""Power cuts over CHF Device Log changes (firmware/hub/devicelog.py; han.md §5; docs/hub.md
"Power cuts").

Runs under the MicroPython unix port: the hub's store lives on littlefs2 (vfs.VfsLfs2) on the
simulated NOR flash board.flash.NorFlash in RAM. A scripted hub life (CCS01 adds up to a full log
and a refused one, joins with TC link keys, CCS02 removals filling and overwriting the Historic
Device Log, re-adds inside the historic-key window, a CCS03 restore, unknown joiners refused and
alerted, alerts delivered) runs one step at a time. For every step, power is cut after n = 0, 1,
2 ... program/erase operations (clean, and torn: the next operation half written) until the step
completes; after each cut the image is remounted and:
  * the hub always boots: the store's start-of-day check, then the CHF role built from the store
    (trust state, Device Log) answers its Device Log;
  * the hub state (Device Log with keys and hashes, Historic Device Log, PAN, join settings, alert
    queue) equals the state before the step or after it, never anything else: no lost entry, no
    resurrected entry, and a CS14 alert is queued exactly when its change is in the log.
The heap holds the flash image (on a device it is flash) and the role compiled from source, hence
MP_HEAPSIZE. Under CPython (no littlefs) the tests skip. The full campaign:
bench/bench_chf_powercut.py.
"""
MP_HEAPSIZE = "1M"
import _cuts

_FL = _cuts.Flash("/hpcut", 1024, 64)
_ROOT = _FL.mp + "/state"
T0 = 1420070400
CAP = 4
HIST = 3


def eui(n):
    return bytes((0x00, 0xDB, 0x12, 0x34, 0x56, 0x78, 0x90, n & 0xFF))


class _Board:
    @staticmethod
    def time():
        return T0


def _provision(store):
    from firmware.core import provision as factory

    factory.provision(store, eui(0xA2), bytes(range(1, 33)), bytes(range(2, 34)), [])
    store.put_json("chf_cfg", {"capacity": CAP, "historic": HIST})
    store.put_json("role", {"role": "chf"})


def workload(rounds):
    """Steps (kind, eui number, time): add / joined / remove / restore / unknown / deliver."""
    steps = []
    t = T0
    for r in range(rounds):
        base = (r * 7) % 200
        for k in range(CAP + 1):  # the last add finds the log full
            steps.append(("add", base + k, t + k))
        for k in range(CAP):
            steps.append(("joined", base + k, t + 10 + k))
        steps.append(("unknown", base + 100, t + 20))
        for k in range(CAP):
            steps.append(("remove", base + k, t + 30 + k))  # historic 3: the oldest overwritten
        steps.append(("add", base + CAP - 1, t + 40))  # in the historic log: historic-key window
        steps.append(("joined", base + CAP - 1, t + 45))  # re-adopts the historic key
        steps.append(("restore", base, t + 50))
        steps.append(("deliver", 3, t + 60))
        steps.append(("remove", base, t + 70))
        t += 1000
    return steps


def _key(n):
    return bytes(((n * 31 + i) & 0xFF for i in range(16)))


def _run_step(chf, step):
    kind, n, now = step
    dl = chf.devlog
    if kind == "add":
        return dl.add(eui(n), b"0123456789ABCDEF", 90, True, now)
    if kind == "joined":
        return dl.joined(eui(n), dl.historic_key(eui(n)) or _key(n), now)
    if kind == "remove":
        return dl.remove(eui(n), now)
    if kind == "restore":
        return dl.restore(bytes(8), [(eui(n + i), _key(n + i)) for i in range(2)], now)
    if kind == "unknown":
        return chf.may_join(eui(n), now)
    return dl.delivered(n)


def _boot():
    """Boot the hub from the mounted store; (role, state snapshot)."""
    from firmware.store.durable import Store
    from firmware import roles

    st = Store(_ROOT)
    st.boot()
    chf = roles.build(st.get_json("role")["role"], _Board(), st)
    return chf, _snap(chf)


def _snap(chf):
    dl = chf.devlog
    s = dl._state()
    return (s["pan"], s["jt"], s["je"], [tuple(e) for e in s["d"]], [tuple(h) for h in s["h"]],
            [tuple(q) for q in s["q"]])


def _consistent(s):
    """A CS14 alert is queued for the log as it is (the newest 8F12 payload names the log's
    entries): the change and its alert landed together."""
    from firmware.gbcs import dlms

    cs14 = [q for q in s[5] if q[0] == 0x8F12]
    if not cs14:
        return True
    body = dlms.decode(cs14[-1][2])
    return [it[1][0][1] for it in body[1][2][1]] == [e[0] for e in s[3]]


def run(rounds=1, torn_modes=(False, True), progress=None, max_cuts=None):
    """Returns (cut points, violations, steps)."""
    from firmware.store.durable import Store

    img = _FL.blank()
    _FL.mount(img)
    _provision(Store(_ROOT))
    _FL.umount()
    steps = workload(rounds)

    def reference(i, step):
        chf, before = _boot()
        _run_step(chf, step)
        after = _snap(chf)
        return (before, after), ([] if _consistent(after) else ["step %d: reference state inconsistent" % i])

    def attempt(i, step, ctx):
        chf, _ = _boot()
        _run_step(chf, step)
        return []

    def check(i, step, ctx, where):
        before, after = ctx
        chf, s = _boot()  # the hub must always boot
        if s != before and s != after:
            return [where + "state %r is neither before %r nor after %r" % (s, before, after)]
        if not _consistent(s):
            return [where + "CS14 queue does not match the log"]
        return []

    cuts, bad = _cuts.sweep(_FL, img, steps, reference, attempt, check, torn_modes, progress, max_cuts)
    return cuts, bad, len(steps)


def main(rounds=3, show=20, max_cuts=None):
    c, bad, steps = run(rounds, max_cuts=max_cuts)
    return _cuts.report("CHF_POWERCUT", steps, c, bad, show)


def test_powercut_device_log_bounded():
    _cuts.need_vfs()
    cuts, bad, steps = run(rounds=1)
    assert steps >= 15 and cuts >= 400, (steps, cuts)
    assert bad == [], bad[:5]


def test_campaign_catches_a_change_written_apart_from_its_alert():
    _cuts.need_vfs()
    from firmware.hub import devicelog as D

    orig = D.DeviceLog._cs14

    def split(self, s, now):  # deliberately unsafe: the log written before its CS14 is queued
        self.store.put(D.REC, D.pack(dict(s, q=list(self._state()["q"]))))
        orig(self, s, now)

    D.DeviceLog._cs14 = split
    try:
        cuts, bad, steps = run(rounds=1, torn_modes=(False,), max_cuts=80)
    finally:
        D.DeviceLog._cs14 = orig
    assert cuts > 0 and len(bad) > 0
