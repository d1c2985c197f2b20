"""The one acceptance function for UTRN top-ups and configuration codes (keypad/console manual entry
and remote CS01a). Spec: shared/reference/gbcs.md §9 and §6 (CS01a counters live in the UTRN counter
space); the full order and its reasoning are in docs/utrn.md. In short: keypad lockout check ->
authenticate (format, check digit, class, counter, MAC; 0x8F63, or 0x8F64 for a CS01a addressed to
another device; keypad failures recorded in the lockout record first) -> replay (floor, cache, cache
minimum, configuration floor; 0x8F51) -> value (0x8F5B / 0x8F47, known opcode) -> ONE atomic commit
of cache + floors + balance + pending configuration action -> act (meter model) -> clear pending ->
log -> return. boot() completes a pending (idempotent) action after a power cut.
"""
from firmware.alerts import (Reject, UTRN_NOT_AUTHENTIC, UTRN_NOT_FOR_DEVICE, UTRN_ENTRY_SUSPENDED,
                             UTRN_DUPLICATE, CREDIT_ADDED_LOCALLY, UI_COMMAND_OK, UI_COMMAND_FAILED)
from firmware.compat import const
from firmware.utrn import codec, counters, ledger, lockout, mac

KEYPAD = "keypad"
REMOTE = "remote"
_STATE = "utrn"
_CFG = "utrn_cfg"
_LOG = "utrn"
_LOG_SIZE = const(32)

DEFAULTS = {
    "max_credit": ledger.DEFAULT_MAX_CREDIT,
    "max_balance": ledger.DEFAULT_MAX_BALANCE,
    "lock_fails": lockout.DEFAULT_FAILS,
    "lock_window": lockout.DEFAULT_WINDOW,
    "lock_time": lockout.DEFAULT_LOCK,
    "config_codes": True,
}


def _fresh():
    # c: UTRN counter cache, f: floor, cf: configuration floor, b: balance (pennies),
    # p: pending configuration action [counter, opcode] or None, n: codes accepted
    return {"c": [], "f": 0, "cf": 0, "b": 0, "p": None, "n": 0}


# state record (store record "utrn"), big-endian: version 1, floor u32, configuration floor u32,
# balance i64, accepted count u32, pending flag u8, pending counter u32, pending opcode u8,
# cache length u16, then the cache as u32s (429 bytes when full: small, and few allocations)
_HDR = ">BIIqIBIBH"
_HDR_LEN = const(29)


def pack_state(st):
    """Bytes of the state record for the state dict `st` (filled in place: one allocation)."""
    import struct

    p = st["p"] or (0, 0)
    c = st["c"]
    out = bytearray(_HDR_LEN + 4 * len(c))
    struct.pack_into(_HDR, out, 0, 1, st["f"], st["cf"], st["b"], st["n"], 1 if st["p"] else 0,
                     p[0], p[1], len(c))
    o = _HDR_LEN
    for x in c:
        struct.pack_into(">I", out, o, x)
        o += 4
    return out


def unpack_state(b):
    """The state dict of a state record; Reject("store-corrupt") for a malformed one."""
    import struct

    if len(b) < _HDR_LEN or b[0] != 1:
        raise Reject("store-corrupt", None, "utrn state record")
    v, f, cf, bal, n, hp, pc, po, k = struct.unpack(_HDR, b[:_HDR_LEN])
    if len(b) != _HDR_LEN + 4 * k or k > counters.CACHE_SIZE:
        raise Reject("store-corrupt", None, "utrn state record length")
    c = []
    for i in range(_HDR_LEN, len(b), 4):  # one int at a time: no 100-item tuple beside the list
        c.append(int.from_bytes(b[i:i + 4], "big"))
    return {"c": c, "f": f, "cf": cf, "b": bal, "p": [pc, po] if hp else None, "n": n}


def _wall():
    import time

    return int(time.time())


class Acceptor:
    """UTRN / configuration-code acceptance for one device and its supplier's prepayment key.

    z: the cached 32-byte ECDH secret (mac.shared_z); meter: the MeterModel (needed for
    configuration codes); clock: callable -> wall-clock seconds (default time.time).
    """

    def __init__(self, store, device_eui, supplier_eui, z, meter=None, clock=None):
        if len(device_eui) != 8 or len(supplier_eui) != 8 or len(z) != 32:
            raise Reject("value", None, "device/supplier EUI-64 and 32-byte Z required")
        self.store = store
        self.device = bytes(device_eui)
        self.supplier = bytes(supplier_eui)
        self.z = bytes(z)
        self.meter = meter
        self.clock = clock or _wall
        self.log = store.log(_LOG, _LOG_SIZE)
        self.cfg = dict(DEFAULTS)
        self.cfg.update(store.get_json(_CFG, None) or {})
        self._lockout()
        b = store.get(_STATE)
        self._st = unpack_state(b) if b is not None else _fresh()
        self._quiet_until = 0  # locked-out entries already logged for this suspension

    def _lockout(self):
        c = self.cfg
        self.lock = lockout.EntryLockout(self.store, c["lock_fails"], c["lock_window"], c["lock_time"])

    # -- state ----------------------------------------------------------------------------------
    @property
    def balance(self):
        return self._st["b"]

    @property
    def cache(self):
        return list(self._st["c"])

    @property
    def floor(self):
        return self._st["f"]

    @property
    def config_floor(self):
        return self._st["cf"]

    def _commit(self, new):
        self.store.put(_STATE, pack_state(new))  # the commit point: old or new after a power cut
        self._st = new

    def boot(self):
        """Complete a configuration action committed before a power cut (idempotent). Returns
        the opcode completed, or None."""
        p = self._st.get("p")
        if not p:
            return None
        from firmware.utrn import config as cfgcodes

        if self.meter is None:
            raise Reject("state", None, "pending configuration code needs the meter model")
        what = cfgcodes.apply(self.meter, p[1])
        new = dict(self._st)
        new["p"] = None
        self._commit(new)
        self._event("boot completed %s c=%d: %s" % (cfgcodes.NAMES.get(p[1], "?"), p[0], what))
        return p[1]

    def configure(self, **kw):
        """Change thresholds / lockout parameters / config-code enable (persisted)."""
        for k in kw:
            if k not in DEFAULTS:
                raise Reject("value", None, "unknown setting %s" % k)
        c = dict(self.cfg)
        c.update(kw)
        self.store.put_json(_CFG, c)
        self.cfg = c
        self._lockout()

    def set_floor(self, counter):
        """Raise the UTRN counter floor (counters <= floor are refused); never lowers it."""
        if counter > self._st["f"]:
            new = dict(self._st)
            new["f"] = counter
            self._commit(new)

    def set_floor64(self, seq64):
        """CS02b newRemotePartySpecialistFloorSeqNumber (prepaymentTopUp) in originator-counter space."""
        self.set_floor(seq64 >> 32)

    def debit(self, pennies):
        """Consumption charged against the balance (prepayment engine); persisted."""
        new = dict(self._st)
        new["b"] = self._st["b"] - pennies
        self._commit(new)

    # -- acceptance -----------------------------------------------------------------------------
    def authenticate(self, code, source=KEYPAD, counter64=None, target=None):
        """Steps 2 of the acceptance order without any state change: -> (Ptut, UTRN counter).
        The brute-force fast path tests call this directly."""
        if target is not None and bytes(target) != self.device:
            raise Reject("target", UTRN_NOT_FOR_DEVICE, "addressed to another device")
        p = codec.decode(code)
        if p.vclass == codec.CLASS_RESERVED or (p.vclass == codec.CLASS_CONFIG
                                                 and not self.cfg["config_codes"]):
            raise Reject("class", UTRN_NOT_AUTHENTIC, "value class %d" % p.vclass)
        if source == REMOTE:
            if counter64 is None:
                raise Reject("counter", UTRN_NOT_AUTHENTIC, "remote entry needs the originator counter")
            counter = counters.from_originator(counter64, p.trunc)
        else:
            counter = counters.reconstruct(counters.highest(self._st["c"], self._st["f"]), p.trunc)
        if not mac.verify(self.z, self.supplier, self.device, counter, p):
            raise Reject("mac", UTRN_NOT_AUTHENTIC, "MAC check failed (c=%d)" % counter)
        return p, counter

    def accept(self, code, source=KEYPAD, counter64=None, target=None, now=None):
        """Accept one UTRN or configuration code, exactly once. Returns a dict describing what was
        done; raises Reject (logged) otherwise."""
        if now is None:
            now = self.clock()
        manual = source != REMOTE
        if manual:
            try:
                self.lock.check(now)
            except Reject as e:
                if self._quiet_until != self.lock.until:  # log once per suspension (flash wear)
                    self._reject_log(e, source, now)
                    self._quiet_until = self.lock.until
                raise
        try:
            p, counter = self.authenticate(code, source, counter64, target)
        except Reject as e:
            if manual and self.lock.failed(now):
                e.events = (UTRN_ENTRY_SUSPENDED,)
                self._event("t=%d 0x%04X manual entry suspended until %d"
                            % (now, UTRN_ENTRY_SUSPENDED, self.lock.until))
            self._reject_log(e, source, now)
            raise
        try:
            return self._use(p, counter, source, now)
        except Reject as e:
            self._reject_log(e, source, now, counter)
            raise

    def _use(self, p, counter, source, now):
        st = self._st
        counters.replay_check(st["c"], st["f"], counter)
        new = dict(st)
        new["c"] = counters.inserted(st["c"], counter)
        new["n"] = st["n"] + 1
        if p.vclass == codec.CLASS_CONFIG:
            from firmware.utrn import config as cfgcodes  # loaded only when a configuration code comes

            op, arg = cfgcodes.split(p.value)
            if counter <= st["cf"]:
                raise Reject("too_old", UTRN_DUPLICATE,
                             "configuration code %d not after configuration code %d" % (counter, st["cf"]))
            cfgcodes.check(op, arg)
            if self.meter is None:
                raise Reject("config_op", UI_COMMAND_FAILED, "no meter model to act on")
            new["cf"] = counter
            new["p"] = [counter, op]
            self._commit(new)
            what = cfgcodes.apply(self.meter, op)
            done = dict(new)
            done["p"] = None
            self._commit(done)
            name = cfgcodes.NAMES[op]
            self._event("t=%d ok %s c=%d %s: %s" % (now, source, counter, name, what))
            return {"kind": "config", "op": name, "counter": counter, "result": what,
                    "alert": UI_COMMAND_OK, "balance": done["b"]}
        amount = p.amount_pennies()
        # the meter balance is credit accepted (here) minus what the metering engine has charged
        eng = getattr(self.meter, "engine", None)
        spent = eng.charged() if eng is not None else 0
        ledger.check_credit(st["b"] - spent, amount, self.cfg["max_credit"], self.cfg["max_balance"])
        new["b"] = st["b"] + amount
        self._commit(new)
        self._event("t=%d ok %s c=%d +%s balance %s" % (now, source, counter, ledger.fmt(amount),
                                                       ledger.fmt(new["b"] - spent)))
        return {"kind": "credit", "counter": counter, "amount": amount, "balance": new["b"] - spent,
                "alert": CREDIT_ADDED_LOCALLY if source != REMOTE else None}

    # -- log ------------------------------------------------------------------------------------
    def _event(self, text):
        self.log.append(text)

    def _reject_log(self, e, source, now, counter=None):
        self._event("t=%d rej %s 0x%04X %s%s" % (now, source, e.code or 0, e.reason,
                                                 "" if counter is None else " c=%d" % counter))
