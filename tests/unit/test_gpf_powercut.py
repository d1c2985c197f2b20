"""Power cuts on the Gas Proxy Function (firmware/roles/gpf.py, firmware/gas/gpf.py; docs/gas.md
"GPF", "Power cuts"): the queue for the sleepy GSME and the mirror.

Runs under the MicroPython unix port: the GPF's store lives on littlefs2 (vfs.VfsLfs2) on the
simulated NOR flash board.flash.NorFlash in RAM. The GPF is provisioned as the RTDS GPF
(tests/vectors/gas/gpf_rtds.json: host_tools.gbcs.gpf_rtds.GpfRole().payload() and RTDS commands;
tests/host/test_gpf_rtds.py checks the file is current) and lives a scripted life: messages for
the GSME queued (GCS13a, GCS23), mirror reports from the GSME, GPF reads through the real command
gate (MAC checked against the provisioned ACB secret, counter written ahead), a GET handing the
oldest message over and the GSME's next GET taking it, the GSME's PUT of a GCS23 response (a
tap-off: the message leaves the queue and the mirror takes the pair in one write), lifetime expiry,
a GCS59 Device Log restore, the GSME's removal. For every step, power is cut after n = 0, 1, 2 ...
program/erase operations (clean, and torn: the next operation half written) until the step
completes; after each cut the image is remounted, the GPF boots, and:
  * its state (the mirror record with queue, Device Log, events; the ACB's command counter) equals
    the state before the step or after it (or, for a gated command, burned: only the counter
    written), never anything else: a queued message is never lost once queue() returned, never
    duplicated, and a tap-off is applied exactly when its message leaves the queue;
  * the interrupted step done again is harmless: a gated command is refused as a replay (or runs
    once when its counter was never written); the same PUT again changes nothing when the first
    one landed.
The heap holds the flash image, hence MP_HEAPSIZE. Under CPython (no littlefs) the tests skip. The
full campaign: bench/bench_gpf_powercut.py.
"""
MP_HEAPSIZE = "1M"
import _cuts
import _t

_FL = _cuts.Flash("/gpfcut", 1024, 64)
_ROOT = _FL.mp + "/state"
T0 = 1420070400
EUI = _t.unhex("00db1234567890a3")
_VEC = None


class _Board:
    t = T0

    @staticmethod
    def time():
        return _Board.t


def _vec():
    global _VEC
    if _VEC is None:
        import json

        with open(_t.ROOT + "/tests/vectors/gas/gpf_rtds.json") as f:
            _VEC = json.load(f)
    return _VEC


def _cmd(name):
    return _t.unhex(_vec()["commands"][name])


def workload(rounds):
    """Steps (kind, argument)."""
    steps = []
    for r in range(rounds):
        ctr = 2000 + 10 * r
        if r == 0:
            steps += [("restore", 1500)]
        steps += [("queue", "GCS13aU"), ("report", r), ("read", ctr), ("queue", "GCS23"), ("get", 0),
                  ("taken", 0), ("get", 0), ("put", "GCS23R"), ("queue", "GCS13aU"), ("expire", r),
                  ("queue", "GCS13aU"), ("remove", 0)]
    return steps


def _gated(dev, name, counter):
    """RTDS command `name` to the GPF with originator counter `counter`, MAC'd again with the
    provisioned ACB secret."""
    from firmware.core.trust import KA
    from firmware.crypto.gmac import gbcs_mac
    from firmware.gbcs import frame, parties as P

    m = frame.parse(_cmd(name))
    m.counter = counter
    frame.build(m)
    t = dev.trust
    z = t.z(t.cell(P.ACB, KA))
    return frame.set_mac(m, gbcs_mac(z, m.originator, P.U_COMMAND, frame.u64(counter), m.recipient,
                                     m.mac_aad(), 12))


def _report(r):
    """A mirror report of a GSME whose register and credit moved on by round `r`."""
    from firmware.gas import gpf
    from firmware.gas.model import GasModel

    class _S:
        def get_json(self, name, default=None):
            return default

    g = GasModel(_S())
    g.set_attr(g.st, 0x0702, 0x0000, 0x25, (1000 + r).to_bytes(6, "little"))
    g.set_attr(g.st, 0x0702, 0x0014, 0x30, b"\x02")
    g.st["cb"] = 500000 - 1000 * r
    return gpf.build_report(g, T0 - 946684800 + 1800 * r)


def _raw(dev, step):
    kind, arg = step
    if kind == "read":
        return _gated(dev, "GCS13a", arg)
    if kind == "restore":
        return _gated(dev, "GCS59", arg)
    return None


def _run_step(dev, step):
    from firmware.gas import gpf

    kind, arg = step
    raw = _raw(dev, step)
    if raw is not None:
        return dev.process(raw)
    if kind == "queue":
        return gpf.queue(dev, _cmd(arg))
    if kind == "report":
        return gpf.report(dev, _report(arg))
    if kind == "get":
        return gpf.get(dev)
    if kind == "taken":
        return gpf.taken(dev, gpf.head(dev))
    if kind == "put":
        return gpf.put(dev, _cmd(arg))
    if kind == "expire":
        return gpf.expire(dev, dev.now() + gpf.LIFETIME + 1)
    if kind == "remove":
        return gpf.remove(dev)
    raise ValueError(kind)


def _boot():
    from firmware.store.durable import Store
    from firmware import roles

    st = Store(_ROOT)
    st.boot()
    dev = roles.build("gpf", _Board(), st)
    return dev, _snap(dev)


def _snap(dev):
    from firmware.gbcs.parties import ACB

    acb = dev.trust.cell(ACB, "ka")
    return (_cuts.canon(dev.gas.st), dev.trust.counter(ACB, acb.eui).value)


def run(rounds=1, torn_modes=(False, True), progress=None, max_cuts=None):
    """Returns (cut points, violations, steps)."""
    img = _cuts.provisioned(_FL, _ROOT, _vec()["payload"], EUI)
    steps = workload(rounds)

    reference, attempt = _cuts.boot_and_run(_boot, _run_step, _snap)
    cuts, bad = _cuts.sweep(_FL, img, steps, reference, attempt, _check_cut, torn_modes, progress, max_cuts)
    return cuts, bad, len(steps)


def _check_cut(i, step, ctx, where):
    """After a cut: the GPF boots (else a violation, _cuts), its state is before, after or the
    command burned, and a resent command or PUT is never taken twice."""
    from firmware.alerts import Reject
    from firmware.gas import gpf

    before, after = ctx
    out = []
    dev, s = _boot()
    if s != before and s != after and not (s[0] == before[0] and s[1] == after[1]):
        out.append(where + ("state is neither before nor after: %r" % (s,))[:300])
    raw = _raw(dev, step)
    if raw is not None:
        try:
            dev.process(raw)
            if s != before or _snap(dev) != after:
                out.append(where + "the command ran again after its counter was written")
        except Reject:
            if _snap(dev) != s:
                out.append(where + "a refused resend changed the state")
    elif step[0] == "put" and s == after:
        if gpf.put(dev, _cmd(step[1])) is not None or _snap(dev) != s:
            out.append(where + "the same PUT was taken twice")
    return out


def main(rounds=3, show=20, max_cuts=None):
    c, bad, steps = run(rounds, max_cuts=max_cuts)
    return _cuts.report("GPF_POWERCUT", steps, c, bad, show)


def test_powercut_queue_and_mirror_bounded():
    _cuts.need_vfs()
    cuts, bad, steps = run(rounds=1)
    assert steps >= 10 and cuts >= 200, (steps, cuts)
    assert bad == [], bad[:5]


def test_campaign_catches_a_tap_off_written_apart_from_its_dequeue():
    """A GPF that applies the tap-off in one write and takes the message off the queue in a second
    one: a cut between them leaves the mirror changed with the message still queued."""
    _cuts.need_vfs()
    from firmware.gas import gpf as G

    orig = G.put

    def unsafe(dev, rsp, now=None):
        from firmware.gbcs import frame

        r = frame.parse(bytes(rsp))
        gas = dev.gas
        e = [x for x in gas.st["gq"] if frame.parse(bytes.fromhex(x[3])).counter == r.counter]
        if not e:
            return None
        m = frame.parse(bytes.fromhex(e[0][3]))
        w = gas.begin()
        G.tap_off(dev, w, m, r, dev.now())
        gas.commit()
        w = gas.begin()
        w["gq"] = [x for x in w["gq"] if x[0] != e[0][0]]
        gas.commit()
        return bytes.fromhex(e[0][3])

    G.put = unsafe
    try:
        cuts, bad, steps = run(rounds=1, torn_modes=(False,), max_cuts=400)
    finally:
        G.put = orig
    assert cuts > 0 and any("(put)" in b for b in bad), bad[:3]
