"""Metering engine (firmware/meter/engine.py): energy and TOU registers, half-hourly profile, daily
snapshot, prepayment charging against credit accepted, emergency credit, interruption at the
disablement threshold (not in a non-disablement period), re-arm on top-up, future-dated payment mode
run once with alert 0x8F66, everything persisted (DLMS IC 3/111/70; gbcs.md §7.9, §8)."""
MP_HEAPSIZE = "256K"  # the engine is compiled from source here (deployed as .mpy it loads with the app)
import os
from binascii import hexlify

import _t
from firmware.meter import clock as C
from firmware.meter import engine as E
from firmware.meter.model import MeterModel
from firmware.store.durable import Store

T0 = C.days_from_civil(2026, 3, 2) * 86400  # a Monday, 00:00 UTC


class Credit:
    """Stand-in for the UTRN acceptor: credit accepted (pennies)."""

    def __init__(self, b=0):
        self.balance = b
        self.meter = None


class Tmp:
    def __enter__(self):
        self.path = "/tmp/smlab-engine-" + hexlify(os.urandom(6)).decode()
        return self.path

    def __exit__(self, *a):
        _t.rmtree(self.path)


def _run(e, t0, t1, step=60):
    t = t0
    while t <= t1:
        e.poll(t)
        t += step


def _codes(e):
    return [a[2] for a in e.alerts()]


def test_clock_round_trip():
    for t in (0, T0, T0 + 86399, 1893456000 + 12345):
        assert C.from_dlms(C.to_dlms(t)) == t
    assert C.to_dlms(T0)[4] == 1  # Monday
    assert C.text(T0 + 3661) == "2026-03-02 01:01:01"
    assert C.from_dlms(b"\xff\xff" + b"\xff" * 10) is None


def test_registers_tou_profile_and_daily_snapshot():
    with Tmp() as root:
        st = Store(root)
        m = MeterModel(st)
        e = E.Engine(st, m, None, lambda t: 2000, T0)
        e.set_tariff(pm=[[20000, 10000]], sw=[[0, 1], [7 * 3600, 0]])  # night tier 1 until 07:00
        _run(e, T0, T0 + 8 * 3600)
        assert e.r["ai"] == 16000 and e.r["tou"][1] == 14000 and e.r["tou"][0] == 2000
        ro = dict((a, v) for a, v, u in e.readout())
        assert ro["1.8.0"] == "0000016.000" and ro["1.8.2"] == "0000014.000" and ro["1.7.0"] == "2.000"
        prof = st.log(E.PROFILE, 96).entries()
        assert len(prof) == 16 and prof[-1] == "%d 16000 0" % (T0 + 8 * 3600)
        _run(e, T0 + 8 * 3600, T0 + 86400 + 1800, 600)
        assert st.log(E.DAILY, 31).entries()[0].split()[:2] == [str(T0 + 86400), "48000"]
        # credit mode: nothing is charged, the supply stays on
        assert e.charged() == 0 and m.supply == "connected"
        # persisted: a new engine on the same store reads the same registers
        e2 = E.Engine(Store(root), MeterModel(Store(root)), None, None, T0)
        assert e2.r["ai"] == e.r["ai"] and e2.readout() == [x if x[0] != "1.7.0" else ("1.7.0", "0.000", "kW")
                                                             for x in e.readout()]


def test_prepayment_day():
    with Tmp() as root:
        st = Store(root)
        m = MeterModel(st)
        m.set_payment_mode("prepayment")
        cr = Credit(1000)
        e = E.Engine(st, m, cr, lambda t: 2000, T0)  # 2 kW at 25 p/kWh: 50 p an hour
        e.configure(low=300, ec=500, ect=100, dis=0)
        _run(e, T0, T0 + 14 * 3600)  # 1000 p lasts 20 h
        assert m.supply == "connected" and e.balance() == 1000 - 14 * 50 and _codes(e) == []
        _run(e, T0 + 14 * 3600, T0 + 15 * 3600)
        assert e.balance() == 250 and _codes(e) == [E.LOW_CREDIT]
        _run(e, T0 + 15 * 3600, T0 + 21 * 3600)
        assert m.supply == "disconnected" and m.cause == "credit" and m.control_state == 0
        assert _codes(e) == [E.LOW_CREDIT, E.EC_AVAILABLE, E.BELOW_DISABLEMENT]
        spent = e.charged()
        _run(e, T0 + 21 * 3600, T0 + 22 * 3600)  # interrupted: no energy, no charge
        assert e.charged() == spent
        assert e.take_emergency_credit(T0 + 22 * 3600) == "EMERGENCY CREDIT 5.00"
        e.poll(T0 + 22 * 3600 + 1)
        assert m.supply == "armed" and _codes(e)[-2:] == [E.EC_ACTIVATED, E.SUPPLY_ARMED]
        assert m.button_press() and m.supply == "connected"
        _run(e, T0 + 22 * 3600, T0 + 33 * 3600)  # 500 p of emergency credit: 10 h
        assert m.supply == "disconnected" and E.EC_EXHAUSTED in _codes(e)
        assert _codes(e)[-1] == E.BELOW_DISABLEMENT
        cr.balance += 2000  # a UTRN top-up: the emergency credit is repaid first
        e.poll(T0 + 33 * 3600 + 5)
        assert m.supply == "armed" and _codes(e)[-1] == E.SUPPLY_ARMED
        assert e.accounts()[1] == 0 and e.r["ec"] == E.EC_NONE
        assert 1000 - 500 < e.balance() < 2000 - 500
        ro = dict((a, v) for a, v, u in e.readout())
        assert ro["19.10.0"] == E._money(e.balance()) and ro["C.EC"] == "none"


def test_non_disablement_period_defers_interruption():
    with Tmp() as root:
        st = Store(root)
        m = MeterModel(st)
        m.set_payment_mode("prepayment")
        e = E.Engine(st, m, Credit(60), lambda t: 2000, T0 + 20 * 3600)
        e.configure(nd=[[18 * 3600, 23 * 3600]], ect=0)  # evenings: never interrupted
        _run(e, T0 + 20 * 3600, T0 + 22 * 3600)
        assert m.supply == "connected" and e.balance() < 0
        _run(e, T0 + 22 * 3600, T0 + 23 * 3600 + 600)
        assert m.supply == "disconnected" and E.BELOW_DISABLEMENT in _codes(e)


def test_future_dated_payment_mode_runs_once():
    with Tmp() as root:
        st = Store(root)
        m = MeterModel(st)
        at = hexlify(C.to_dlms(T0 + 3600)).decode()
        m.update({"pending_mode": {"mode": "prepayment", "at": at, "mc": 0x1B, "ctr": 1010}})
        e = E.Engine(st, m, Credit(5000), None, T0)
        _run(e, T0, T0 + 3599)
        assert m.payment_mode == "credit" and _codes(e) == []
        _run(e, T0 + 3600, T0 + 7200)
        assert m.payment_mode == "prepayment" and m.account.get("pending_mode") is None
        assert _codes(e) == [E.FD_OK] and e.alerts()[0][3] == "001B 1010 prepayment"
        e2 = E.Engine(Store(root), MeterModel(Store(root)), Credit(5000), None, T0)
        _run(e2, T0 + 7200, T0 + 9000)
        assert _codes(e2) == [E.FD_OK]


def test_disablement_threshold_from_command_in_milli_pence():
    with Tmp() as root:
        st = Store(root)
        m = MeterModel(st)
        e = E.Engine(st, m, Credit(), None, T0)
        assert e.threshold(T0) == 0
        m.update({"disablement_threshold_passive": 556677,
                  "disablement_threshold_activation": hexlify(C.to_dlms(T0 + 60)).decode()})
        assert e.threshold(T0) == 0 and e.threshold(T0 + 60) == 556


def test_clock_set_back_restarts_accounting_with_alert():
    with Tmp() as root:
        st = Store(root)
        e = E.Engine(st, MeterModel(st), None, lambda t: 1000, T0 + 7200)
        _run(e, T0 + 7200, T0 + 9000)
        ai = e.r["ai"]
        e.poll(T0)
        assert _codes(e) == [E.CLOCK_ADJUSTED] and e.r["t"] == T0 and e.r["ai"] == ai


def test_live_cosem_attributes_and_seeded_values_win():
    from firmware.gbcs import dlms
    from firmware.meter import live, objects

    with Tmp() as root:
        st = Store(root)
        m = MeterModel(st)
        e = E.Engine(st, m, Credit(1234), lambda t: 2000, T0)
        objs = objects.Objects(st)
        now = [T0 + 3600]
        live.install(objs, e, lambda: now[0])
        _run(e, T0, T0 + 3600)
        imp = b"\x01\x00\x01\x08\x00\xff"
        assert objs.get(3, imp, 2) == b"\x06" + (2000).to_bytes(4, "big")
        assert objs.get(3, imp, 3) == bytes((2, 2, 0x0F, 0, 0x16, 30))
        assert objs.get(8, b"\x00\x00\x01\x00\x00\xff", 2) == b"\x09\x0c" + C.to_dlms(T0 + 3600)
        assert objs.get(70, b"\x00\x00\x60\x03\x0a\xff", 3) == b"\x16\x01"
        assert dlms.decode(objs.get(112, b"\x00\x00\x13\x0a\x00\xff", 2)) == (dlms.DOUBLE_LONG, 1234000)
        assert objs.get(111, b"\x00\x00\x13\x00\x00\xff", 2) == bytes((2, 2, 0x16, 1, 0x16, 1))
        objs.set(3, imp, 2, b"\x06\x00\x00\x00\x07")  # seeded (RTDS runner): the seed is answered
        assert objs.get(3, imp, 2) == b"\x06\x00\x00\x00\x07"


def test_tariff_from_the_attribute_store_ecs01():
    """Unit charges ECS01 SET into the COSEM store (IC 113 0-0:19.20.0 prices, 0-0:19.20.4 standing
    charge; passive -> active at the activation time) price the consumption; without them the
    local tariff record does."""
    from firmware.gbcs import dlms
    from firmware.meter import objects

    def charge(prices, ps, cs=0):
        return dlms.encode((dlms.STRUCTURE, [
            (dlms.STRUCTURE, [(dlms.INTEGER, cs), (dlms.INTEGER, ps)]),
            (dlms.STRUCTURE, [(dlms.LONG_UNSIGNED, 3), (dlms.OCTET_STRING, b"\x01\x00\x01\x08\x00\xff"),
                              (dlms.INTEGER, 2)]),
            (dlms.ARRAY, [(dlms.STRUCTURE, [(dlms.OCTET_STRING, bytes((i,))), (0x10, p)])
                          for i, p in enumerate(prices)])]))

    with Tmp() as root:
        st = Store(root)
        m = MeterModel(st)
        m.set_payment_mode("prepayment")
        e = E.Engine(st, m, Credit(10000), lambda t: 1000, T0)  # 1 kW
        e.objs = objects.Objects(st)
        _run(e, T0, T0 + 3600)
        assert e.charged() == 25  # local tariff: 25 p/kWh
        p = b"\x00\x00\x13\x14\x00\xff"
        e.objs.set(113, p, 6, charge([40], -5))  # 40 x 10^-5 GBP per Wh = 40 p/kWh, passive
        e.objs.set(113, p, 7, b"\x09\x0c" + C.to_dlms(T0 + 7200))
        e.objs.set(113, b"\x00\x00\x13\x14\x04\xff", 5, charge([48], -2))  # 48 p a day
        _run(e, T0 + 3600, T0 + 7200)
        c1 = e.charged()
        assert c1 - 50 in (1, 2)  # still 25 p/kWh until 02:00; 48 p a day is 2 p an hour (rounded down)
        _run(e, T0 + 7200, T0 + 10800)
        assert e.charged() - c1 - 40 in (1, 2, 3)  # 40 p/kWh from 02:00


def test_non_disablement_calendar():
    with Tmp() as root:
        st = Store(root)
        e = E.Engine(st, MeterModel(st), None, None, T0)
        e.configure(ndw=[6, 7], ndd=["2026-03-03"])
        assert not e.nondisablement(T0)  # Monday
        assert e.nondisablement(T0 + 86400 + 5)  # Tuesday 3 March: a listed date
        assert not e.nondisablement(T0 + 2 * 86400)
        assert e.nondisablement(T0 + 5 * 86400 + 3600) and e.nondisablement(T0 + 6 * 86400)  # weekend


def test_debt_recovery_time_based_and_per_payment():
    with Tmp() as root:
        st = Store(root)
        m = MeterModel(st)
        m.set_payment_mode("prepayment")
        cr = Credit(5000)
        e = E.Engine(st, m, cr, None, T0)  # no load: only debt recovery is charged
        e.configure(dr=240000, dpp=25, ect=0, low=0)  # 240 p a day, 25 % of each top-up
        e.set_debt(1000, T0)
        _run(e, T0, T0 + 6 * 3600, 600)  # a quarter of a day: ~60 p recovered
        assert 55 <= e.charged() <= 60 and e.r["d"] == 1000 - e.charged()
        before, debt = e.charged(), e.r["d"]
        cr.balance += 2000
        e.poll(T0 + 6 * 3600 + 1)
        assert e.charged() - before - 500 in (0, 1)  # 25 % of £20 (+ a second of time-based)
        assert e.r["d"] + e.charged() == 1000 and e.accounts()[2] == e.r["d"]  # every penny once
