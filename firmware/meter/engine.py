"""ESME metering engine: energy registers, tariff charging, prepayment account, half-hourly profile,
daily/billing snapshots and the model's GBCS alerts, driven from the application's poll loop in
meter time (DLMS IC 3/4 registers, IC 111/112/113 account/credit/charge, IC 70 disconnect control,
IC 8 clock; GBCS alert codes in shared/reference/gbcs.md §8; future-dated execution §7.9).

Loaded by the application (firmware/roles/esme.py on its first poll), never by the command gate.

Persistence (firmware/store/durable.py, docs/storage.md): every accounting step is ONE write of the
record "mtr" holding registers, charges, account tallies, flags and the alert queue together, so a
power cut leaves the step fully applied or not at all: registers never go backwards and a charge
is never both taken and refunded. Only persisted values are ever shown. The meter balance is
derived, never copied between records:

    meter balance = credit accepted (UTRN acceptor record "utrn", firmware/utrn/accept.py)
                    - charged (this record)

so a top-up (one write of "utrn") and a consumption step (one write of "mtr") never need to be
atomic together. Emergency credit is a loan on the same account: while it is active the balance
may go below zero down to -limit; the next top-up repays it first (the difference above is exactly
that). Per-payment debt recovery is charged in the step that first sees the new credit.

Actions on the meter model's record ("meter": supply, payment mode) follow the "mtr" write that
decided them and are idempotent re-evaluations (interrupt a connected supply while credit is below
the disablement threshold; arm a supply interrupted for credit once credit is back; apply a due
future-dated payment mode whose outcome alert is already queued), so a cut between the two writes
is completed by the next poll without a second alert. Future-dated activations are keyed by
(activation time, originator counter) in the record: they run exactly once.

Money: integer pennies; prices in milli-pence per kWh, standing charge and debt recovery rates in
milli-pence per day; DLMS money values (disablement threshold of ECS03) in milli-pence [U: GBCS
currency scale; docs/metering.md].
"""
from firmware.meter import clock as C

REC = "mtr"
CFG = "mcfg"
TARIFF = "tariff"
PROFILE = "profile"  # half-hourly: "t imp exp" (cumulative Wh at the end of the period)
DAILY = "daily"  # "t imp exp tou1 tou2 tou3 tou4 charged" at each midnight
BILLING = "billing"  # same, at the start of each month (block registers restart)
HH = 1800
DAY = 86400
ALERTS_KEPT = 16

# GBCS alert codes (gbcs.md §8) raised by the model
LOW_CREDIT = 0x810D
EC_AVAILABLE = 0x8119
EC_EXHAUSTED = 0x81AA
EC_ACTIVATED = 0x81AB
BELOW_DISABLEMENT = 0x8F0F
SUPPLY_ARMED = 0x8F32
CLOCK_ADJUSTED = 0x81C6
FD_OK = 0x8F66
FD_FAILED = 0x8F67

_LOW = 1  # flags: low credit alerted
_OFF = 2  # credit below the disablement threshold alerted (supply to be interrupted)
_ECX = 4  # emergency credit exhausted alerted

CONFIG = {
    "low": 300,  # low-credit alert below this available credit (p)
    "ec": 500,  # emergency credit limit (p)
    "ect": 100,  # emergency credit offered when the meter balance is below this (p)
    "dis": 0,  # disablement threshold (p) until a commanded one (ECS03) is active
    "nd": [],  # non-disablement periods [[start, end] seconds of the day], supply never interrupted
    "ndw": [],  # friendly weekdays (1 Monday .. 7 Sunday), all day
    "ndd": [],  # non-disablement calendar: dates "YYYY-MM-DD" (bank holidays)
    "dr": 0,  # time-based debt recovery (milli-pence per day)
    "dpp": 0,  # per-payment debt recovery (% of each top-up)
    "step": 300,  # meter seconds between accounting writes (also every half-hour boundary)
}
TARIFF_DEFAULT = {
    "pm": [[25000]],  # price matrix [block][tier] milli-pence per kWh
    "sw": [[0, 0]],  # switching table [[second of the day, tier]], ascending
    "bt": [],  # block thresholds: Wh of import in the billing period where the next block starts
    "sc": 0,  # standing charge, milli-pence per day
}
EC_NONE, EC_OFFERED, EC_ACTIVE = 0, 1, 2
EC_NAMES = ("none", "available", "active")


def fresh(t):
    return {"t": t, "ai": 0, "ae": 0, "j": 0, "je": 0, "tou": [0, 0, 0, 0], "blk": [0, 0, 0, 0],
            "bpw": 0, "c": 0, "u": 0, "s": None, "d": 0, "ec": 0, "f": 0, "day": t // DAY,
            "mon": _month(t), "a": [], "n": 1, "fd": []}


def _month(t):
    y, m = C.civil(t)[:2]
    return y * 12 + m


def _tier(sw, sod):
    tier = sw[0][1] if sw else 0
    for s, k in sw:
        if s <= sod:
            tier = k
    return tier


def attach(role, board):
    """Give an ESME role (firmware/roles/esme.py) its metering engine on `board`: role.meter, the
    role's poll(now) and registers() (the optical readout's list), and the live COSEM attributes
    (firmware/meter/live.py) on the role's attribute store."""
    e = Engine(role.store, role.model, role.acceptor, getattr(board, "load_w", None), board.time())
    role.meter = e
    e.clock = board.time
    role.poll = e.poll
    role.registers = e.readout
    from firmware.meter import objects, live

    e.objs = objects.of(role)
    live.install(e.objs, e, board.time)
    return e


class Engine:
    """The metering engine of one ESME. store: the durable Store; model: MeterModel; acceptor: the
    UTRN Acceptor (credit accepted) or None; load: callable(meter time) -> watts (positive import,
    negative export) or None (no metrology: nothing flows)."""

    def __init__(self, store, model, acceptor=None, load=None, now=None):
        self.store = store
        self.model = model
        self.acceptor = acceptor
        self.load = load
        self.cfg = dict(CONFIG)
        self.cfg.update(store.get_json(CFG, None) or {})
        self.tariff = dict(TARIFF_DEFAULT)
        self.tariff.update(store.get_json(TARIFF, None) or {})
        r = store.get_json(REC, None)
        if r is None:
            r = fresh(now if now is not None else 0)
        self.r = r
        self._logs = {}
        self.objs = None  # the role's COSEM attribute store (attach() sets it): ECS01 tariffs
        self._cache = {}
        if r["s"] is None:
            r["s"] = self.credit_in()
        model.engine = self

    # -- configuration ------------------------------------------------------------------------
    def configure(self, **kw):
        """Change account configuration (CONFIG keys); one write."""
        c = dict(self.cfg)
        for k in kw:
            if k not in CONFIG:
                from firmware.alerts import Reject

                raise Reject("value", None, "unknown meter setting %s" % k)
            c[k] = kw[k]
        self.store.put_json(CFG, c)
        self.cfg = c

    def set_tariff(self, **kw):
        t = dict(self.tariff)
        t.update(kw)
        self.store.put_json(TARIFF, t)
        self.tariff = t

    def set_debt(self, pennies, now):
        """Set the accumulated debt (supplier adjustment); one accounting write."""
        r = self._next(now)
        r["d"] = pennies
        self._commit(r)

    # -- derived values -------------------------------------------------------------------------
    def credit_in(self):
        a = self.acceptor
        return a.balance if a is not None else 0

    def charged(self):
        """Pennies charged against the account so far (persisted)."""
        return self.r["c"]

    def balance(self):
        """Meter balance (p): credit accepted minus charged (negative while emergency credit or a
        non-disablement period is used)."""
        return self.credit_in() - self.r["c"]

    def available(self):
        b = self.balance()
        return b + self.cfg["ec"] if self.r["ec"] == EC_ACTIVE else b

    def threshold(self, now):
        """Active disablement threshold (p): the commanded passive value (ECS03, milli-pence) once its
        activation time has come, else the configured one."""
        acc = self.model.account
        v = acc.get("disablement_threshold_passive")
        if v is not None:
            at = acc.get("disablement_threshold_activation")
            t = 0 if at is None else self._at(at)
            if t is not None and t <= now:
                return v // 1000
        return self.cfg["dis"]

    def _at(self, hexdt):
        import binascii

        return _at_raw(binascii.unhexlify(hexdt))

    def nondisablement(self, now):
        """A friendly period: a daily non-disablement period, a friendly weekday or a listed date
        (the non-disablement calendar)."""
        c = self.cfg
        if c["ndw"] or c["ndd"]:
            y, mo, d, _, _, _, dow = C.civil(now)
            if dow in c["ndw"] or "%04d-%02d-%02d" % (y, mo, d) in c["ndd"]:
                return True
        sod = now % DAY
        for s, e in c["nd"]:
            if (s <= sod < e) if s <= e else (sod >= s or sod < e):
                return True
        return False

    def prepay(self):
        return self.model.payment_mode == "prepayment"

    # -- poll -----------------------------------------------------------------------------------
    def poll(self, now):
        """Account up to `now` (meter time): at most one accounting write per call, steps ending at
        half-hour boundaries and at a due future-dated change, which runs once accounting reached it."""
        r = self.r
        if now < r["t"]:
            if r["t"] - now > 10:  # clock set back: restart accounting from the new time
                n = self._next(now)
                n["t"] = now
                self._alert(n, now, CLOCK_ADJUSTED, "")
                self._commit(n)
            return
        nxt = (r["t"] // HH + 1) * HH
        if now - nxt > 2 * DAY:  # a long gap (clock advanced, meter off): one step, one profile entry
            nxt = now - now % HH
        pm = self.model.account.get("pending_mode")
        if pm:
            at = self._at(pm["at"])
            if at is not None and at <= now:
                if r["t"] >= at:  # accounted up to the activation time: the change runs now
                    self._future(pm, now)
                    r = self.r
                else:
                    nxt = min(nxt, at)  # account up to it under the old mode first
        if self.credit_in() != r["s"] or now >= nxt or now - r["t"] >= self.cfg["step"]:
            self._step(min(now, nxt))
        self._reconcile(now)  # in-memory comparisons; completes a decision a power cut interrupted

    def _next(self, now):
        """A copy of the record to change (lists copied: the live one stays as persisted)."""
        r = dict(self.r)
        for k in ("tou", "blk", "a", "fd"):
            r[k] = list(self.r[k])
        return r

    def _commit(self, r):
        self.store.put_json(REC, r)  # the commit point of every accounting step
        self.r = r

    def _alert(self, r, now, code, extra):
        a = r["a"]
        a.append([r["n"], now, code, extra])
        if len(a) > ALERTS_KEPT:
            del a[0]
        r["n"] += 1

    # -- tariff from the COSEM attribute store (ECS01 SETs IC 113 unit charges there) -------------
    def _charge(self, obis, now):
        """[(charge per unit, exponent to milli-pence)] of an IC 113 charge in the attribute store:
        the active unit charge (attribute 5), or the passive one (6) once its activation time (7)
        has come; None when neither is stored. Unit charge = charge_per_unit x 10^price_scale GBP
        per 10^commodity_scale Wh [U: GBCS currency and commodity scales]."""
        o = self.objs
        if o is None:
            return None
        raw = o.stored(113, obis, 5)
        at = o.stored(113, obis, 7)
        if at is not None and len(at) == 14:  # octet-string(12) date-time
            t = _at_raw(at[2:])
            if t is not None and t <= now and o.stored(113, obis, 6) is not None:
                raw = o.stored(113, obis, 6)
        if raw is None:
            return None
        c = self._cache.get(raw)
        if c is None:
            from firmware.gbcs import dlms

            try:
                v = dlms.decode(raw)[1]
                cs, ps = v[0][1][0][1], v[0][1][1][1]
                c = [(e[1][1][1], ps - cs) for e in v[2][1]]
            except (IndexError, TypeError, ValueError):
                c = []
            self._cache = {raw: c}
        return c or None

    def _tariff(self, now):
        """Price matrix [[milli-pence per kWh by tier]] and standing charge (milli-pence per day):
        from the attribute store where ECS01 put them, else the local tariff record."""
        t = self.tariff
        pm, sc = t["pm"], t["sc"]
        u = self._charge(b"\x00\x00\x13\x14\x00\xff", now)  # 0-0:19.20.0.255 TOU/block prices
        if u:
            pm = [[_scale(v, e + 8) for v, e in u]]
        u = self._charge(b"\x00\x00\x13\x14\x04\xff", now)  # 0-0:19.20.4.255 standing charge
        if u:
            sc = _scale(u[0][0], u[0][1] + 5)
        return pm, sc

    def _price(self, r, sod):
        t = self.tariff
        pm = self._pm
        blk = 0
        for th in t["bt"]:
            if r["bpw"] >= th:
                blk += 1
        row = pm[min(blk, len(pm) - 1)]
        tier = _tier(t["sw"], sod)
        return row[min(tier, len(row) - 1)], tier, blk

    def _step(self, end):
        """Account [t, end) in one write: energy, charges, top-ups, account alerts, profile and
        snapshots at their boundaries."""
        r = self._next(end)
        t0 = r["t"]
        dt = end - t0
        w = 0
        self._pm, self._sc = self._tariff(t0)
        if dt > 0 and self.load is not None and self.model.supply == "connected":
            w = int(self.load(t0))
        micro = 0  # micro-pence charged this step
        if w > 0:
            j = r["j"] + w * dt
            wh = j // 3600
            r["j"] = j - wh * 3600
            if wh:
                price, tier, blk = self._price(r, t0 % DAY)
                r["ai"] += wh
                r["bpw"] += wh
                r["tou"][min(tier, 3)] += wh
                r["blk"][min(blk, 3)] += wh
                micro += wh * price
        elif w < 0:
            j = r["je"] - w * dt
            wh = j // 3600
            r["je"] = j - wh * 3600
            r["ae"] += wh
        prepay = self.prepay()
        if prepay and dt > 0:
            micro += self._sc * 1000 * dt // DAY
            if r["d"] > 0 and self.cfg["dr"]:  # time-based debt recovery, whole pennies moved
                acc = r.get("dru", 0) + self.cfg["dr"] * 1000 * dt // DAY
                whole = min(acc // 1000000, r["d"])
                r["dru"] = acc - whole * 1000000 if whole < r["d"] else 0
                r["d"] -= whole
                r["c"] += whole
        cin = self.credit_in()
        if cin > r["s"]:
            if r["d"] > 0 and self.cfg["dpp"]:
                rec = min(r["d"], (cin - r["s"]) * self.cfg["dpp"] // 100)
                r["d"] -= rec
                r["c"] += rec
        topup = cin > r["s"]
        r["s"] = cin
        if prepay:
            u = r["u"] + micro
            r["c"] += u // 1000000
            r["u"] = u % 1000000
        r["t"] = end
        self._account_alerts(r, end, topup)
        if end % HH == 0 and end > t0:
            self._log(PROFILE, 96).append("%d %d %d" % (end, r["ai"], r["ae"]))
            if end // DAY != r["day"]:
                self._log(DAILY, 31).append(self._snap(r, end))
                r["day"] = end // DAY
            mon = _month(end)
            if mon != r["mon"]:
                self._log(BILLING, 12).append(self._snap(r, end))
                r["mon"] = mon
                r["bpw"] = 0
                r["blk"] = [0, 0, 0, 0]
        self._commit(r)

    def _log(self, name, size):
        lg = self._logs.get(name)
        if lg is None:
            lg = self._logs[name] = self.store.log(name, size)
        return lg

    def _snap(self, r, t):
        tou = r["tou"]
        return "%d %d %d %d %d %d %d %d" % (t, r["ai"], r["ae"], tou[0], tou[1], tou[2], tou[3], r["c"])

    def _account_alerts(self, r, now, topup=False):
        """Prepayment state changes decided from the record being written (alerts queued in it)."""
        if not self.prepay():
            return
        c = self.cfg
        bal = self.credit_in() - r["c"]
        if r["ec"] == EC_ACTIVE and topup and bal >= 0:
            r["ec"] = EC_NONE  # repaid by a top-up
            r["f"] &= ~_ECX
        if r["ec"] == EC_OFFERED and bal >= c["ect"]:
            r["ec"] = EC_NONE
        if r["ec"] == EC_NONE and bal < c["ect"]:
            r["ec"] = EC_OFFERED
            self._alert(r, now, EC_AVAILABLE, "")
        avail = bal + c["ec"] if r["ec"] == EC_ACTIVE else bal
        f = r["f"]
        if avail < c["low"]:
            if not f & _LOW:
                f |= _LOW
                self._alert(r, now, LOW_CREDIT, "")
        else:
            f &= ~_LOW
        if r["ec"] == EC_ACTIVE and avail <= 0 and not f & _ECX:
            f |= _ECX
            self._alert(r, now, EC_EXHAUSTED, "")
        thr = self.threshold(now)
        if avail < thr:
            if not f & _OFF and not self.nondisablement(now):
                f |= _OFF
                self._alert(r, now, BELOW_DISABLEMENT, "")
        elif f & _OFF:
            f &= ~_OFF
            if self.model.supply == "disconnected" and self.model.cause == "credit":
                self._alert(r, now, SUPPLY_ARMED, "")
        r["f"] = f

    def _reconcile(self, now):
        """Bring the model's supply in line with the persisted account decision (idempotent)."""
        m = self.model
        f = self.r["f"]
        if f & _OFF and self.prepay():  # (credit mode never interrupts: an interrupted supply is armed)
            if m.supply == "connected" and not self.nondisablement(now):
                m.supply = "disconnected"
                m.cause = "credit"
                m._save()  # MeterModel's one record write
        elif m.supply == "disconnected" and m.cause == "credit":
            m.arm()

    def _future(self, pm, now):
        """Run a due future-dated payment-mode change exactly once: its outcome alert is queued with
        its key in one write, then the mode is applied and the pending entry cleared (a cut between
        is completed on the next poll without a second alert)."""
        key = "%s:%s" % (pm["at"], pm.get("ctr"))
        ok = pm.get("mode") in ("credit", "prepayment")
        if key not in self.r["fd"]:
            r = self._next(now)
            r["fd"].append(key)
            if len(r["fd"]) > 4:
                del r["fd"][0]
            at = self._at(pm["at"])  # the alert carries the execution date-time (gbcs.md §7.9)
            self._alert(r, at if at else now, FD_OK if ok else FD_FAILED, "%04X %d %s" % (
                pm.get("mc") or 0, pm.get("ctr") or 0, pm.get("mode")))
            self._commit(r)
        self.model.update({"pending_mode": None}, pm["mode"] if ok else None)

    # -- consumer actions ----------------------------------------------------------------------
    def take_emergency_credit(self, now):
        """The consumer accepts the emergency credit offered (keypad 'B'): -> display text."""
        if self.r["ec"] != EC_OFFERED or not self.prepay():
            return "NO EMERGENCY CREDIT"
        r = self._next(now)
        r["ec"] = EC_ACTIVE
        self._alert(r, now, EC_ACTIVATED, "")
        self._account_alerts(r, now)
        self._commit(r)
        self._reconcile(now)
        return "EMERGENCY CREDIT %s" % _money(self.cfg["ec"])

    # -- reads ------------------------------------------------------------------------------------
    def accounts(self):
        """(meter balance, emergency credit balance, debt) in pennies (19.10.0 / 19.10.1 / 19.10.2)."""
        bal = self.balance()
        ec = self.r["ec"]
        if ec == EC_ACTIVE:
            return max(bal, 0), self.cfg["ec"] + min(bal, 0), self.r["d"]
        return bal, self.cfg["ec"] if ec == EC_OFFERED else 0, self.r["d"]

    def readout(self):
        """[(address, value, unit)] of the public readout and HHT reads (docs/metering.md)."""
        r = self.r
        out = [("1.8.0", _kwh(r["ai"]), "kWh")]
        for i in range(4):
            out.append(("1.8.%d" % (i + 1), _kwh(r["tou"][i]), "kWh"))
        out.append(("2.8.0", _kwh(r["ae"]), "kWh"))
        for i in range(4):
            out.append(("C.B.%d" % (i + 1), _kwh(r["blk"][i]), "kWh"))
        w = 0
        if self.load is not None and self.model.supply == "connected":
            w = int(self.load(r["t"]))
        out.append(("1.7.0", "%d.%03d" % (w // 1000, w % 1000) if w >= 0 else "0.000", "kW"))
        bal, ecb, debt = self.accounts()
        out.append(("19.10.0", _money(bal), "GBP"))
        out.append(("19.10.1", _money(ecb), "GBP"))
        out.append(("19.10.2", _money(debt), "GBP"))
        out.append(("C.EC", EC_NAMES[r["ec"]], None))
        out.append(("C.AL", str(len(r["a"])), None))
        return out

    def profile(self):
        """Half-hourly profile [(period end, import Wh, export Wh)], oldest first; an entry written
        twice (a power cut between the log append and the record write) is read once."""
        out = []
        for e in self._log(PROFILE, 96).entries():
            if isinstance(e, bytes):
                e = e.decode()
            t, ai, ae = (int(x) for x in e.split())
            if out and out[-1][0] >= t:
                continue
            out.append((t, ai, ae))
        return out

    def alerts(self):
        """Queued alerts, oldest first: [seq, meter time, code, extra]."""
        return list(self.r["a"])

    def raise_alert(self, code, extra=""):
        """Queue alert `code` raised outside the accounting (a device join's outcome): one record
        write, at the board's time (the engine's last accounted time without a board)."""
        clock = getattr(self, "clock", None)
        now = clock() if clock is not None else self.r["t"]
        r = self._next(now)
        self._alert(r, now, code, extra)
        self._commit(r)


def _at_raw(b):
    """Meter time of a 12-byte DLMS date-time: 0 for GBCS "now" (all zero), None for "never" (all
    0xFF) or an unspecified date."""
    if b[:9] == b"\x00" * 9:
        return 0
    if b[:9] == b"\xff" * 9:
        return None
    return C.from_dlms(b)


def _scale(v, e):
    """v x 10^e as an integer (truncated)."""
    while e > 0:
        v *= 10
        e -= 1
    while e < 0:
        v //= 10
        e += 1
    return v


def _kwh(wh):
    return "%07d.%03d" % (wh // 1000, wh % 1000)


def _money(p):
    s = "-" if p < 0 else ""
    p = -p if p < 0 else p
    return "%s%d.%02d" % (s, p // 100, p % 100)
