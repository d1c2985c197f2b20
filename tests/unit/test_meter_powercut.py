"""Power cuts during consumption accounting, prepayment and future-dated activations
(firmware/meter/engine.py; durable store docs/storage.md; future-dated outcome gbcs.md §7.9).

Runs under the MicroPython unix port: the store on littlefs2 (vfs.VfsLfs2) on the simulated NOR flash
board.flash.NorFlash in RAM. A scripted prepayment life - UTRN top-ups at the keypad (the real
Acceptor), a 4 kW load accounted every 15 minutes across midnight and a month end (profile, daily and
billing snapshots), low credit, interruption at the disablement threshold, emergency credit, the
button, future-dated payment-mode changes staged as ECS02/ECS03 stage them and run at their time,
an immediate mode change - is run one step at a time; every step is an input (or none) followed by
the device's poll at that meter time. For every step, power is cut after n = 0, 1, 2 ...
program/erase operations (clean, and torn) until the step completes; after each cut the image is
remounted, the device boots (store, meter model, acceptor, engine) and:
  * energy registers (import, export, TOU) never go backwards and are the values before or after
    the step, never anything else;
  * pennies charged never go backwards, credit accepted is before or after, never twice: credit is
    never both consumed and restored;
  * the step run again (the code re-entered, the poll repeated) brings the device to exactly the
    reference state of the uncut run: registers, account, supply, payment mode, the alert queue
    (no alert lost or doubled) - so a future-dated activation runs exactly once (one 0x8F66 per
    activation, mode applied) and a top-up is credited once.
The full campaign (>= 2,000 cut points): bench/bench_meter_powercut.py.
"""
MP_HEAPSIZE = "1M"

import _cuts
import _t
from firmware.alerts import Reject

T0 = 1774987200  # 2026-03-31 20:00 UTC: midnight and a month end within the first rounds
HH = 1800
_FL = _cuts.Flash("/mcut", 1024, 96)
_ROOT = _FL.mp + "/state"
LOAD_W = 4000


class Dev:
    """One boot of the meter on the mounted flash."""

    def __init__(self, v, now):
        from firmware.store.durable import Store
        from firmware.meter.model import MeterModel
        from firmware.meter.engine import Engine
        from firmware.utrn.accept import Acceptor

        self.store = Store(_ROOT)
        self.store.boot()
        self.meter = MeterModel(self.store)
        self.a = Acceptor(self.store, _t.unhex(v["device_eui"]), _t.unhex(v["supplier_eui"]),
                          _t.unhex(v["z"]), self.meter, lambda: now)
        self.a.boot()
        self.e = Engine(self.store, self.meter, self.a, lambda t: LOAD_W, now)

    def snap(self):
        r = self.e.r
        m = self.meter
        return (r["ai"], r["ae"], tuple(r["tou"]), r["c"], self.a.balance, r["d"], r["ec"], r["f"],
                r["n"], tuple((a[0], a[2], a[3]) for a in r["a"]), tuple(r["fd"]), r["t"], m.supply,
                m.cause, m.payment_mode, repr(m.account.get("pending_mode")))


def _setup(d):
    from firmware.meter import engine as E

    d.e.configure(low=400, ec=200, ect=300, dis=100, step=900)
    d.e.set_tariff(pm=[[50000, 25000]], sw=[[0, 1], [7 * 3600, 0]])
    d.meter.set_payment_mode("prepayment")
    return E


def _at(t):
    from binascii import hexlify
    from firmware.meter import clock as C

    return hexlify(C.to_dlms(t)).decode()


def workload(v, rounds):
    """Steps (kind, arg, now): "poll", "key" (a UTRN), "ec" (keypad B), "button", "fd" (stage a
    future-dated mode), "mode" (immediate mode change)."""
    import test_utrn_powercut as U

    steps = []
    t = T0
    c = 0
    for r in range(rounds):
        c += 1
        steps.append(("key", U._code(v, c, 0, 800), t))  # £8
        for _ in range(18):  # 4 kW at 50 p/kWh: interrupted after ~3.5 h
            t += 900
            steps.append(("poll", None, t))
        steps.append(("ec", None, t))
        steps.append(("button", None, t + 1))
        for _ in range(6):
            t += 900
            steps.append(("poll", None, t))
        steps.append(("fd", ("credit", t + 2 * HH, 1000 + r), t + 1))  # ECS02 at t + 1 h
        for _ in range(5):
            t += 900
            steps.append(("poll", None, t))
        steps.append(("mode", "prepayment", t + 2))  # ECS03, immediate
        c += 1
        steps.append(("key", U._code(v, c, 0, 1000), t + 3))  # £10 repays the emergency credit
        steps.append(("button", None, t + 4))
        steps.append(("fd", ("prepayment", t + HH, 2000 + r), t + 5))
        t += 3 * HH
        for _ in range(5):  # the meter catches up one step per poll; the activation runs once
            steps.append(("poll", None, t))
    return steps


def _run_step(d, step):
    """Apply one step then poll; OSError = power cut."""
    kind, arg, now = step
    res = None
    if kind == "key":
        try:
            res = d.a.accept(arg, now=now)["amount"]
        except Reject as e:
            res = e.code
    elif kind == "ec":
        res = d.e.take_emergency_credit(now)
    elif kind == "button":
        res = d.meter.button_press()
    elif kind == "fd":
        mode, at, ctr = arg
        d.meter.update({"pending_mode": {"mode": mode, "at": _at(at), "mc": 0x1A, "ctr": ctr}})
    elif kind == "mode":
        d.meter.update({"pending_mode": None}, arg)
    d.e.poll(now)
    return res


def _fd_once(s):
    """Every future-dated outcome alert appears once (by its counter)."""
    seen = []
    for q, code, extra in s[9]:
        if code in (0x8F66, 0x8F67):
            if extra in seen:
                return False
            seen.append(extra)
    return True


def run(rounds=1, torn_modes=(False, True), progress=None, max_cuts=None):
    """Returns (cut points, violations, steps, activations run)."""
    import test_utrn_powercut as U

    img = _FL.blank()
    v = U._vec()
    _FL.mount(img)
    _setup(Dev(v, T0))
    _FL.umount()
    steps = workload(v, rounds)
    fds = [0]

    def reference(i, step):
        d = Dev(v, step[2])
        before = d.snap()
        ref = _run_step(d, step)
        after = d.snap()
        fds[0] += len([a for a in after[9] if a[1] == 0x8F66 and a[0] >= before[8]])
        return (before, after, ref), ([] if _fd_once(after) else
                                      ["step %d: reference run doubled a future-dated alert" % i])

    def attempt(i, step, ctx):
        got = _run_step(Dev(v, step[2]), step)
        return [] if got == ctx[2] else ["step %d: result %r != reference %r" % (i, got, ctx[2])]

    def check(i, step, ctx, where):
        return _check_cut(v, step, ctx, where)

    cuts, bad = _cuts.sweep(_FL, img, steps, reference, attempt, check, torn_modes, progress, max_cuts)
    return cuts, bad, len(steps), fds[0]


def _check_cut(v, step, ctx, where):
    """After a cut: registers, credit and alert sequence before or after, no doubled future-dated
    alert, and the step run again (code re-entered, device polling again) converges on the reference."""
    before, after, ref = ctx
    out = []
    d = Dev(v, step[2])
    s = d.snap()
    for k, name in ((0, "import"), (1, "export"), (2, "TOU"), (3, "charged")):
        if s[k] not in (before[k], after[k]):
            out.append(where + "%s %r neither before %r nor after %r" % (name, s[k], before[k], after[k]))
    if s[4] not in (before[4], after[4]):
        out.append(where + "credit accepted %r neither %r nor %r" % (s[4], before[4], after[4]))
    if s[8] not in (before[8], after[8]):
        out.append(where + "alert sequence %r neither %r nor %r" % (s[8], before[8], after[8]))
    if not _fd_once(s):
        out.append(where + "a future-dated alert doubled")
    got = _run_step(d, step)  # the consumer enters the code again / the device polls again
    s2 = d.snap()
    if s2 != after:
        out.append(where + "after the step again %r != reference %r" % (s2, after))
    if step[0] == "key" and s[4] == after[4] and after[4] != before[4] and got != 0x8F51:
        out.append(where + "applied top-up entered again gave %r" % (got,))
    return out


def main(rounds=3, show=20, max_cuts=None):
    c, bad, steps, fds = run(rounds, max_cuts=max_cuts)
    return _cuts.report("METER_POWERCUT", steps, c, bad, show, (("activations", fds),))


def test_powercut_slice():
    """A bounded slice of the campaign: the first steps of a prepayment life (top-up, accounting
    steps with half-hour profile entries, the run-down to interruption), clean and torn cuts."""
    _cuts.need_vfs()
    c, bad, steps, fds = run(1, max_cuts=400)
    assert bad == [], bad[:5]
    assert c >= 400


def test_workload_reaches_every_state():
    """The scripted life is not vacuous: without cuts it interrupts, takes emergency credit, runs both
    activations once each and crosses midnight and the month end."""
    _cuts.need_vfs()
    import test_utrn_powercut as U

    _FL.mount(_FL.blank())
    try:
        v = U._vec()
        d = Dev(v, T0)
        E = _setup(d)
        states = []
        for step in workload(v, 1):
            d.e.cfg  # same device across steps (no cut)
            _run_step(d, step)
            states.append(d.meter.supply)
        codes = [a[2] for a in d.e.alerts()]
        assert "disconnected" in states and "armed" in states
        assert codes.count(E.FD_OK) == 2 and E.EC_ACTIVATED in codes and E.BELOW_DISABLEMENT in codes
        assert d.meter.payment_mode == "prepayment" and d.e.r["day"] > T0 // 86400
        assert d.store.log(E.DAILY, 31).entries() and d.store.log(E.BILLING, 12).entries()
        assert len(d.e.profile()) > 10
    finally:
        _FL.umount()


def test_campaign_catches_an_accounting_step_split_in_two_writes():
    """The checks are not a rubber stamp: an engine that persists energy and charge of one step in
    two record writes (energy first) is caught by a cut between them."""
    _cuts.need_vfs()
    from firmware.meter import engine as E

    good = E.Engine._commit

    def split(self, r):
        half = dict(r)
        half["c"] = self.r["c"]
        half["u"] = self.r["u"]
        self.store.put_json(E.REC, half)
        self.store.put_json(E.REC, r)
        self.r = r

    E.Engine._commit = split
    try:
        c, bad, steps, fds = run(1, max_cuts=150)
    finally:
        E.Engine._commit = good
    assert bad, "a split accounting write went unnoticed"
