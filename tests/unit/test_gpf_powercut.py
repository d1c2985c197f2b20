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
import _t

_MP = "/gpfcut"
_ROOT = _MP + "/state"
_BS = 1024
_BLOCKS = 64
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
    return (_canon(dev.gas.st), dev.trust.counter(ACB, acb.eui).value)


def _canon(v):
    if isinstance(v, dict):
        return "{" + ",".join("%r:%s" % (k, _canon(v[k])) for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_canon(x) for x in v) + "]"
    return repr(v)


def _mount(img, cut_after=None, torn=True):
    import vfs
    from board.flash import NorFlash

    try:
        vfs.umount(_MP)
    except OSError:
        pass
    dev = NorFlash(img, _BS, cut_after=cut_after, torn=torn)
    vfs.mount(vfs.VfsLfs2(dev), _MP)
    return dev


def _umount():
    import vfs

    vfs.umount(_MP)


def _provision(img):
    import vfs
    from board.flash import NorFlash
    from firmware import provisioning
    from firmware.store.durable import Store

    ff = b"\xff" * _BS
    for o in range(0, len(img), _BS):
        img[o:o + _BS] = ff
    vfs.VfsLfs2.mkfs(NorFlash(img, _BS))
    _mount(img)
    provisioning.apply(Store(_ROOT), _vec()["payload"], EUI, None)
    _umount()


def run(rounds=1, torn_modes=(False, True), progress=None, max_cuts=None):
    """Returns (cut points, violations, steps)."""
    img = bytearray(_BS * _BLOCKS)
    work = bytearray(len(img))
    ref_img = bytearray(len(img))
    _provision(img)
    steps = workload(rounds)
    cuts = 0
    bad = []
    for i in range(len(steps)):
        step = steps[i]
        work[:] = img
        _mount(work)
        dev, before = _boot()
        _run_step(dev, step)
        after = _snap(dev)
        _umount()
        if after == before and step[0] not in ("get", "read"):
            bad.append("step %d (%s) changed nothing" % (i, step[0]))
        ref_img[:] = work
        n = 0
        done = False
        while not done and (max_cuts is None or cuts < max_cuts):
            for torn in torn_modes:
                work[:] = img
                fl = _mount(work, n, torn)
                try:
                    dev, _ = _boot()
                    _run_step(dev, step)
                    done = True
                except OSError:
                    if not fl.dead:
                        raise
                _umount()
                if done:
                    break
                cuts += 1
                bad += _check_cut(work, step, i, n, torn, before, after)
            n += 1
        img[:] = ref_img
        if progress:
            progress(i, cuts, len(bad))
    return cuts, bad, len(steps)


def _check_cut(work, step, i, n, torn, before, after):
    from firmware.alerts import Reject
    from firmware.gas import gpf

    where = "step %d (%s) cut %d%s: " % (i, step[0], n, " torn" if torn else "")
    try:
        _mount(work)
    except OSError as e:
        return [where + "mount failed %r" % e]
    out = []
    try:
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
    except Exception as e:  # the GPF must always boot: anything else is a violation
        out.append(where + "raised %r" % (e,))
    _umount()
    return out


def main(rounds=3, show=20, max_cuts=None):
    c, bad, steps = run(rounds, max_cuts=max_cuts)
    for line in bad[:show]:
        print(line)
    print("@@GPF_POWERCUT steps=%d cut_points=%d violations=%d" % (steps, c, len(bad)))
    return len(bad)


def _need_vfs():
    try:
        import vfs

        return vfs.VfsLfs2
    except (ImportError, AttributeError):
        _t.skip("needs MicroPython littlefs2 (vfs.VfsLfs2); runs under tests/mprun.py")


def test_powercut_queue_and_mirror_bounded():
    _need_vfs()
    cuts, bad, steps = run(rounds=1)
    assert steps >= 10 and cuts >= 200, (steps, cuts)
    assert bad == [], bad[:5]


def test_campaign_catches_a_tap_off_written_apart_from_its_dequeue():
    """A GPF that applies the tap-off in one write and takes the message off the queue in a second
    one: a cut between them leaves the mirror changed with the message still queued."""
    _need_vfs()
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
