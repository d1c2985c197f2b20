"""Power cuts on the GSME (firmware/roles/gsme.py, firmware/gas/; docs/gas.md "Power cuts"): top-ups
and the valve.

Runs under the MicroPython unix port: the GSME's store lives on littlefs2 (vfs.VfsLfs2) on the
simulated NOR flash board.flash.NorFlash in RAM. The GSME is provisioned as the RTDS GSME
(tests/vectors/gas/gsme_rtds.json: host_tools.gbcs.gsme_rtds.GsmeRole().payload(), bench static
ECDH secrets; tests/host/test_gsme_rtds.py checks the file is current) and lives a scripted life:
UTRN top-ups at its keypad (codes made with the provisioned prepayment secret) and by CS01b (RTDS),
a UTRN entered twice, a future-dated GCS02 and the wake that executes it, GCS39 arm and GCS32 close
through the real command gate (MAC checked, counter
written ahead; the supplier signature check is stateless and stubbed out for speed), the consumer's
button on an armed and on a closed valve, alerts delivered at a wake, wakes. For every step, power
is cut after n = 0, 1, 2 ... program/erase operations (clean, and torn: the next operation half
written) until the step completes; after each cut the image is remounted, the GSME boots, and:
  * its state (gas record, UTRN acceptor state, the supplier's command counter) equals the state
    before the step or after it, never anything else: no acknowledged top-up lost, credit never
    taken twice;
  * the valve is ON only if it was ON before or the step is the consumer's button on an armed valve;
  * the interrupted command sent again is refused as a replay (or, when the cut came before its
    counter was written, runs once and leaves the state after the step): no command runs twice.
The heap holds the flash image, hence MP_HEAPSIZE. Under CPython (no littlefs) the tests skip. The
full campaign: bench/bench_gsme_powercut.py.
"""
MP_HEAPSIZE = "1M"
import _cuts
import _t

_FL = _cuts.Flash("/gpcut", 1024, 64)
_ROOT = _FL.mp + "/state"
T0 = 1420070400
EUI = _t.unhex("00db1234567890a1")


class _Board:
    @staticmethod
    def time():
        return T0


def _vec():
    import json

    with open(_t.ROOT + "/tests/vectors/gas/gsme_rtds.json") as f:
        return json.load(f)


def workload(rounds):
    """Steps (kind, argument): keypad UTRN counter / cs01b / arm / close (originator counter) /
    button / again (a UTRN counter already used) / deliver / wake."""
    steps = []
    for r in range(rounds):
        c = 100 + 10 * r
        ctr = 2000 + 10 * r
        if r == 0:
            steps += [("cs01b", 0), ("future", 1500), ("due", 0)]
        steps += [("keypad", c), ("arm", ctr), ("button", 0), ("keypad", c + 1), ("close", ctr + 1),
                  ("button", 0), ("again", c), ("deliver", 0), ("wake", r)]
    return steps


def _code(dev, counter):
    from firmware.core.trust import KA, PREPAYMENT
    from firmware.gbcs.parties import SUPPLIER
    from firmware.utrn import codec, mac

    t = dev.trust
    cell = t.cell(SUPPLIER, KA, PREPAYMENT)
    value = 500 + counter  # pennies, class 0 (credit)
    hi = ((counter & 0x3FF) << 15) | value
    return codec.encode(counter & 0x3FF, 0, value, mac.tag4(t.z(cell), cell.eui, t.eui, counter,
                                                            hi.to_bytes(4, "big")))


def _command(dev, name, counter):
    """The RTDS command `name` with originator counter `counter`, MAC'd again with the ACB's Z."""
    from firmware.core.trust import KA
    from firmware.crypto.gmac import gbcs_mac
    from firmware.gbcs import frame, parties as P

    m = frame.parse(_t.unhex(_vec()["commands"][name]))
    if counter is None:
        return frame.build(m)
    m.counter = counter
    frame.build(m)
    t = dev.trust
    z = t.z(t.cell(P.ACB, KA))
    return frame.set_mac(m, gbcs_mac(z, m.originator, P.U_COMMAND, frame.u64(counter), m.recipient,
                                     m.mac_aad(), 12))


def _raw(dev, step):
    kind, arg = step
    if kind == "arm":
        return _command(dev, "GCS39", arg)
    if kind == "close":
        return _command(dev, "GCS32", arg)
    if kind == "cs01b":
        return _command(dev, "CS01b", None)
    if kind == "future":
        return _command(dev, "GCS02F", arg)
    return None


def _run_step(dev, step):
    from firmware.alerts import Reject
    from firmware.gas import life

    kind, arg = step
    raw = _raw(dev, step)
    if raw is not None:
        return dev.process(raw)
    if kind in ("keypad", "again"):
        try:
            return life.keypad(dev, _code(dev, arg))
        except Reject as e:
            if kind != "again":
                raise
            return e.code
    if kind == "button":
        return life.button(dev)
    if kind == "due":  # the wake at the future-dated command's time: it runs, once
        return life.wake_at(dev, 0x38818890 + 60)
    if kind == "deliver":
        return life.delivered(dev, len(life.alerts(dev)))
    return life.wake_at(dev, dev.now() + 1800 * (arg + 1))


def _boot():
    from firmware.store.durable import Store
    from firmware import roles

    st = Store(_ROOT)
    st.boot()
    dev = roles.build("gsme", _Board(), st)
    dev.trust.verify = lambda *a: True  # stateless signature check: out of the campaign's scope
    return dev, _snap(dev)


def _snap(dev):
    from firmware.gbcs.parties import SUPPLIER
    from firmware.utrn.accept import pack_state

    sup = dev.trust.cell(SUPPLIER, "ds")
    ctr = dev.trust.counter(SUPPLIER, sup.eui).value if sup is not None else None
    return (_cuts.canon(dev.gas.st), bytes(pack_state(dev.acceptor._st)), ctr)


def _supply(s):
    i = s[0].find("'0702.0014':")
    return 2 if i < 0 else int(s[0][i + 15:i + 17], 16)


def run(rounds=1, torn_modes=(False, True), progress=None, max_cuts=None):
    """Returns (cut points, violations, steps)."""
    img = _cuts.provisioned(_FL, _ROOT, _vec()["payload"], EUI)
    steps = workload(rounds)

    reference, attempt = _cuts.boot_and_run(_boot, _run_step, _snap)
    cuts, bad = _cuts.sweep(_FL, img, steps, reference, attempt, _check_cut, torn_modes, progress, max_cuts)
    return cuts, bad, len(steps)


def _check_cut(i, step, ctx, where):
    """After a cut: the GSME boots (else a violation, _cuts), its state is before, after or the
    command burned, the valve never opened without the button, and a resend never runs twice."""
    from firmware.alerts import Reject

    before, after = ctx
    out = []
    dev, s = _boot()
    # before, or after, or burned: the counter written ahead and nothing else (gate.py order)
    if s != before and s != after and not (s[:2] == before[:2] and s[2] == after[2]):
        out.append(where + ("state is neither before nor after: %r" % (s,))[:300])
    if _supply(s) == 2 and _supply(before) != 2 and step[0] != "button":
        out.append(where + "valve opened without the button")
    raw = _raw(dev, step)
    if raw is not None and step[0] != "cs01b":
        try:
            dev.process(raw)
            if s != before or _snap(dev) != after:  # it may run only if it was never seen
                out.append(where + "the command ran again after its counter was written")
        except Reject:
            if _snap(dev) != s:
                out.append(where + "a refused resend changed the state")
    return out


def main(rounds=3, show=20, max_cuts=None):
    c, bad, steps = run(rounds, max_cuts=max_cuts)
    return _cuts.report("GSME_POWERCUT", steps, c, bad, show)


def test_powercut_top_ups_and_valve_bounded():
    _cuts.need_vfs()
    cuts, bad, steps = run(rounds=1)
    assert steps >= 10 and cuts >= 200, (steps, cuts)
    assert bad == [], bad[:5]


def test_campaign_catches_credit_written_apart_from_its_log():
    _cuts.need_vfs()
    from firmware.gas import prepay as U

    orig = U.top_up

    def unsafe(dev, utrn, source, counter64=None, target=None, now=None):  # acceptor first, log later
        acc = dev.acceptor
        p, counter = acc.authenticate(utrn, source, counter64, target)
        acc.accept(utrn, source, counter64, target)
        w = dev.gas.begin()
        w["tul"].insert(0, [utrn, p.amount_pennies() * 1000, dev.now(), counter, 1])
        dev.gas.commit()
        return p.amount_pennies() * 1000

    U.top_up = unsafe
    try:
        cuts, bad, steps = run(rounds=1, torn_modes=(False,), max_cuts=60)
    finally:
        U.top_up = orig
    assert cuts > 0 and len(bad) > 0
