"""Exactly-once UTRN / configuration-code acceptance under power cuts (gbcs.md §9.5; order in
firmware/utrn/accept.py, docs/utrn.md §"Power cuts").

Runs under the MicroPython unix port: the store lives on littlefs2 (vfs.VfsLfs2) on the simulated NOR
flash board.flash.NorFlash in RAM. A scripted device life (top-ups by keypad and CS01a, out-of-order
and duplicate entries, forged codes, a lockout and its expiry, Switch to Credit Mode, Enable Supply
with the consumer's button, payment-mode and load-switch changes) is run one step at a time. For
every step, power is cut after n = 0, 1, 2 ... program/erase operations (clean, and torn: the next
operation half written) until the step completes; after each cut the image is remounted, the store,
meter model and acceptor boot, and:
  * the whole device state (balance, cache, floors, pending action, lockout record, payment mode,
    supply) equals the state before the step or after it - never anything else;
  * the balance equals the sum of acknowledged credits, plus at most the step's own credit;
  * the interrupted entry, entered again, is refused as a duplicate if it had been applied and gives
    the step's reference result if not, and the device then reaches the reference state (so no code
    is ever accepted twice and none is lost);
  * the lockout record never goes back (a cut cannot reset it).
The heap holds the flash image (on a device it is flash), hence MP_HEAPSIZE. Under CPython (no
littlefs) the tests skip. The full campaign: bench/bench_utrn_powercut.py.
"""
MP_HEAPSIZE = "1M"
import json

import _cuts
import _t
from firmware.alerts import Reject

_FL = _cuts.Flash("/upcut", 1024, 96)
_ROOT = _FL.mp + "/state"
T0 = 1700000000


def _vec():
    with open(_t.ROOT + "/tests/vectors/utrn/own_keys.json") as f:
        return json.load(f)


class Dev:
    """One boot of the device on the mounted flash."""

    def __init__(self, v, acceptor_cls, now):
        from firmware.store.durable import Store
        from firmware.meter.model import MeterModel

        self.store = Store(_ROOT)
        self.report = self.store.boot()
        self.meter = MeterModel(self.store)
        self.clock = [now]
        self.a = acceptor_cls(self.store, _t.unhex(v["device_eui"]), _t.unhex(v["supplier_eui"]),
                              _t.unhex(v["z"]), self.meter, lambda: self.clock[0])
        self.a.boot()

    def snap(self):
        a = self.a
        st = a._st
        return (st["b"], sorted(st["c"]), st["f"], st["cf"], st["p"], st["n"], list(a.lock.times),
                a.lock.until, self.meter.payment_mode, self.meter.supply)


def _code(v, counter, vclass, value):
    from firmware.utrn import codec, mac

    hi = ((counter & 0x3FF) << 15) | (vclass << 13) | value
    return codec.encode(counter & 0x3FF, vclass, value,
                        mac.tag4(_t.unhex(v["z"]), _t.unhex(v["supplier_eui"]), _t.unhex(v["device_eui"]),
                                 counter, hi.to_bytes(4, "big")))


def workload(v, rounds):
    """Steps: (kind, arg, now). kind "key"/"remote" (arg = code or (code, counter64)), or a meter
    operation "prepay" / "disconnect" / "button"."""
    from firmware.utrn import config

    steps = []
    t = T0
    c = 0
    bad = "73946144332040217316"  # wrong check digit
    forged = _code(v, 1, 0, 1)[:19]
    forged = forged[:10] + ("1" if forged[10] != "1" else "2") + forged[11:]
    from firmware.utrn import codec

    forged += str(codec.check_digit(forged))  # right check digit, wrong MAC
    steps.append(("prepay", None, t))
    for r in range(rounds):
        t += 60
        steps.append(("key", _code(v, c + 1, 0, 100 + r), t))
        steps.append(("remote", (_code(v, c + 3, 1, 2), (c + 3) << 32), t + 1))
        steps.append(("key", _code(v, c + 2, 0, 250), t + 2))  # out of order
        steps.append(("key", _code(v, c + 1, 0, 100 + r), t + 3))  # duplicate
        steps.append(("key", forged, t + 4))
        if r % 3 == 1:
            steps.append(("key", _code(v, c + 4, 2, config.value(config.SWITCH_TO_CREDIT)), t + 5))
            steps.append(("prepay", None, t + 6))
        if r % 3 == 2:
            steps.append(("disconnect", None, t + 5))
            steps.append(("key", _code(v, c + 5, 2, config.value(config.ENABLE_SUPPLY)), t + 6))
            steps.append(("button", None, t + 7))
        if r % 4 == 3:
            for i in range(4):
                steps.append(("key", bad, t + 10 + i))  # with the earlier forged entry: 5 in 10 min
            steps.append(("key", _code(v, c + 6, 0, 77), t + 20))  # locked out (not burned)
            t += 3700
            steps.append(("key", _code(v, c + 6, 0, 77), t))  # after the hour: accepted
        c += 8
    return steps


def _run_step(dev, step):
    """Apply one step; returns ("ok", amount) / ("rej", code) / ("meter", None). OSError = cut."""
    kind, arg, now = step
    dev.clock[0] = now
    if kind == "prepay":
        dev.meter.set_payment_mode("prepayment")
        return ("meter", None)
    if kind == "disconnect":
        dev.meter.disconnect()
        return ("meter", None)
    if kind == "button":
        dev.meter.button_press()
        return ("meter", None)
    try:
        if kind == "remote":
            r = dev.a.accept(arg[0], source="remote", counter64=arg[1], now=now)
        else:
            r = dev.a.accept(arg, now=now)
    except Reject as e:
        return ("rej", e.code)
    return ("ok", r.get("amount", 0))


def run(rounds=2, torn_modes=(False, True), acceptor_cls=None, progress=None, max_cuts=None):
    """Returns (cut points, violations, steps, acknowledged credit total)."""
    img = _FL.blank()
    if acceptor_cls is None:
        from firmware.utrn.accept import Acceptor as acceptor_cls
    v = _vec()
    _FL.mount(img)
    d = Dev(v, acceptor_cls, T0)
    d.a.configure(max_balance=1 << 30)
    _FL.umount()
    steps = workload(v, rounds)
    acked = [0]  # sum of acknowledged credits before the current step

    def reference(i, step):
        d = Dev(v, acceptor_cls, step[2])
        before = d.snap()
        ref = _run_step(d, step)
        ctx = (before, d.snap(), ref, acked[0])
        if ref[0] == "ok":
            acked[0] += ref[1]
        return ctx, []

    def attempt(i, step, ctx):
        got = _run_step(Dev(v, acceptor_cls, step[2]), step)
        return [] if got == ctx[2] else ["step %d: result %r != reference %r" % (i, got, ctx[2])]

    def check(i, step, ctx, where):
        return _check_cut(v, acceptor_cls, step, ctx, where)

    cuts, bad = _cuts.sweep(_FL, img, steps, reference, attempt, check, torn_modes, progress, max_cuts)
    return cuts, bad, len(steps), acked[0]


def _check_cut(v, acceptor_cls, step, ctx, where):
    """After a cut: state before or after, the balance what was acknowledged (+ this step's credit),
    the lockout never back, and a code entered again applied exactly once overall."""
    before, after, ref, acked = ctx
    out = []
    d = Dev(v, acceptor_cls, step[2])
    s = d.snap()
    if s != before and s != after:
        out.append(where + "state %r is neither before %r nor after %r" % (s, before, after))
    extra = after[0] - before[0]
    if s[0] != acked and s[0] != acked + extra:
        out.append(where + "balance %d != acknowledged %d (+%d)" % (s[0], acked, extra))
    if s[7] < before[7] or len(s[6]) < len(before[6]) and s[7] == before[7]:
        out.append(where + "lockout went back: %r / %r" % (s[6:8], before[6:8]))
    if step[0] in ("key", "remote"):
        got = _run_step(d, step)  # the user enters the code again
        if s == after and ref[0] == "ok":
            if got != ("rej", 0x8F51):
                out.append(where + "applied code entered again gave %r" % (got,))
        elif s == before:
            if got != ref:
                out.append(where + "re-entry %r != reference %r" % (got, ref))
            elif d.snap() != after:
                out.append(where + "re-entry state %r != reference %r" % (d.snap(), after))
    return out


def main(rounds=12, show=20, max_cuts=None):
    c, bad, steps, acked = run(rounds, max_cuts=max_cuts)
    return _cuts.report("UTRN_POWERCUT", steps, c, bad, show, (("credited", acked),))


def test_powercut_exactly_once_bounded():
    _cuts.need_vfs()
    cuts, bad, steps, acked = run(rounds=4)  # covers every step kind, incl. a lockout
    assert steps >= 25 and cuts >= 500, (steps, cuts)
    assert bad == [], bad[:5]
    assert acked > 0


def test_campaign_catches_credit_written_apart_from_the_cache():
    _cuts.need_vfs()
    from firmware.utrn.accept import Acceptor, pack_state

    class Split(Acceptor):
        """Deliberately unsafe: credit and 'code used' in two writes."""

        def _commit(self, new):
            half = dict(self._st)
            half["b"] = new["b"]
            self.store.put("utrn", pack_state(half))
            self.store.put("utrn", pack_state(new))
            self._st = new

    cuts, bad, steps, acked = run(rounds=1, torn_modes=(False,), acceptor_cls=Split, max_cuts=60)
    assert cuts > 0 and len(bad) > 0
