"""The GSME's life between commands (shared/reference/gas.md §4.4, §5.3): the consumer's button on the
valve (an ARMED valve opens; a closed one stays closed), the alerts queued for the next HAN wake and
their delivery, the sleepy HAN interface's wake schedule (every `interval` seconds of the GSME's
clock, record "gas" "wi", default 30 min), the GBZ fault hook (firmware/gas/model.py docstring) and
the power-on settling of a top-up interrupted by a power cut. Functions of the GasModel `gas`;
loaded when used (the valve's command path does not need them). Each change is one store write."""
from firmware.compat import const

OFF = const(0)  # Metering SupplyStatus (attribute 0x0014): valve closed
ARMED = const(1)  # closed, the consumer may open it
ON = const(2)  # open
ALERT_ARMED = const(0x8F32)  # supply armed (gbcs.md §8)
TOP_UP_LOG = const(5)  # top-up log entries kept (GCS15e reads 5)
FAULT_REC = const("gas_fault")
CREDIT = const("0705.0001")  # the model's key of Prepayment CreditRemaining
WAKE_INTERVAL = const(1800)  # seconds between HAN wakes
_EPOCH_2000 = const(946684800)
_CLOCK_REC = const("gas_clk")


def start(role, board):
    """Power-on of a built GSME (firmware/roles/gsme.py build()): its UTRN Acceptor over the
    supplier's prepayment KA cell (none: a credit-mode GSME without UTRN entry), then a top-up cut
    short by a power cut settled. Returns the role."""
    from firmware.core.trust import KA, PREPAYMENT
    from firmware.gbcs.parties import SUPPLIER

    t = role.trust
    cell = t.cell(SUPPLIER, KA, PREPAYMENT)
    if cell is not None:
        from firmware.utrn.accept import Acceptor

        a = Acceptor(role.store, t.eui, cell.eui, t.z(cell), None, board.time)
        a.boot()
        fl = t.pp_floor(SUPPLIER)
        if fl:
            a.set_floor64(fl)
        role.acceptor = a
        role.keypad_accept = lambda code, now=None: keypad_accept(role, code, now)
    role.gas.acceptor = role.acceptor
    boot(role.gas)
    return role


def keypad(role, code):
    """A UTRN entered at the GSME's keypad: the amount taken (1e-5 GBP), or Reject (logged)."""
    from firmware.gas.prepay import top_up
    from firmware.utrn.accept import KEYPAD

    return top_up(role, code, KEYPAD)


def keypad_accept(role, code, now=None):
    """The front panel's code entry on the GSME (firmware/frontpanel.py, set as role.keypad_accept
    by start()): a credit UTRN through keypad(), so it lands in the top-up log (GCS15e) exactly
    once; any other code (a configuration code, or one that does not decode: refused, logged and
    counted towards the lockout there) straight to the acceptor. The acceptor's result shape, in
    pennies: {"kind": "credit", "amount", "balance"}."""
    from firmware.alerts import Reject
    from firmware.utrn import codec
    from firmware.utrn.accept import KEYPAD

    try:
        credit = codec.decode(code).amount_pennies() is not None
    except Reject:
        credit = False
    if not credit:
        return role.acceptor.accept(code, source=KEYPAD, now=now)
    amount = keypad(role, code)
    return {"kind": "credit", "amount": amount // 1000, "balance": role.gas.credit() // 1000}


def set_clock(role, t2000):
    """Set the GSME's clock to t2000 (seconds since 2000): a durable offset from the board's."""
    role._off = t2000 - (role.time() - _EPOCH_2000)
    role.store.put_json(_CLOCK_REC, role._off)


def dlms_now(role):
    """The GSME's clock as a 12-byte DLMS date-time (Grouping Header date-times)."""
    from firmware.hub.alerts import dlms_datetime

    return dlms_datetime(role.now() + _EPOCH_2000)


def poll(role, now=None):
    """True when the HAN interface is due to wake at board time `now` (epoch seconds, the
    application's clock; default the GSME's own): wake_at() then, and role.woken is set True until
    the HAN session (firmware/gas/node.py) runs."""
    if wake_at(role, role.now() if now is None else now - _EPOCH_2000 + role._off):
        role.woken = True
        return True
    return False


def wake_at(role, t):
    """True when the HAN interface is due to wake at `t` (seconds since 2000 on the GSME's clock);
    the next wake is then scheduled and the future-dated commands due are executed (run_due), in
    one store write."""
    gas = role.gas
    if not due(gas, t):
        return False
    w = gas.begin()
    w["wk"] = t + interval(gas)
    _run_due(gas, w, t)
    gas.commit()
    return True


def button(role):
    """The consumer's button: an ARMED valve opens (ON); a closed (OFF) one stays closed.
    Returns the supply state after (GasModel.button, on the valve's path)."""
    return role.gas.button()


def alerts(role):
    """[(alert code, time)] queued for the next HAN wake."""
    return [tuple(x) for x in role.gas.st["q"]]


def alert_message(role, code, t, counter=None, rec=None):
    """The GBCS alert message (bytes) of a queued GSME alert `code` raised at `t` (seconds since
    2000), for the supplier: GBZ content `01 09 00 | code (BE) | t (BE)` (gas.md §1.7); message code
    0x1000 signed with the GSME's DS key for a 0x8Fxx code, else 0x1001 MAC'd (KDF U=03) [U: which
    codes GBCS treats as critical]. The GSME's alert counter is advanced first (durable) unless
    `counter` is given. With `rec` (hex of a future-dated-executed record) the alert is message code
    0x00CD, signed, its body that record."""
    import hashlib
    from firmware.core.trust import KA
    from firmware.crypto.gmac import gbcs_mac
    from firmware.gbcs import frame, parties as P

    t_ = role.trust
    cell = t_.cell(P.SUPPLIER, KA)
    if counter is None:
        counter = role.store.counter("gas_alert").increment()
    crit = code >> 8 == 0x8F
    body = b"\x01\x09\x00" + bytes((code >> 8, code & 0xFF)) + t.to_bytes(4, "big")
    if rec is not None:
        r = bytes.fromhex(rec)
        body = b"\x01\x09\x01" + body[3:] + bytes((len(r),)) + r
    m = frame.Message(cra=frame.CRA_ALERT, counter=counter, originator=t_.eui, recipient=cell.eui,
                      message_code=0x00CD if rec is not None else 0x1000 if crit else 0x1001, content=body)
    if crit:
        m.mac_header = False
        m.signature = None
        body, _ = frame.build_grouping(m)
        m.signature = t_.sign(hashlib.sha256(body[1:]).digest())
        return frame.build(m)
    m.mac_header = True
    m.signature = b""
    frame.build(m)
    return frame.set_mac(m, gbcs_mac(t_.z(cell), t_.eui, P.U_ALERT, frame.u64(counter), cell.eui,
                                     m.mac_aad(), 12))


def alert_messages(role):
    """The queued alerts as GBCS messages, oldest first (what a wake sends; then delivered())."""
    return [alert_message(role, e[0], e[1], rec=e[2] if len(e) > 2 else None) for e in role.gas.st["q"]]


def run_due(role, now=None):
    """Execute the future-dated configuration and publications whose time has come (at `now`,
    default the GSME's clock), each once, all in one store write with one 0x8F66 alert each
    (future-dated command executed: the original message code, originator counter, cluster,
    frame control and command id; gas.md §1.7). Returns how many ran."""
    gas = role.gas
    t = role.now() if now is None else now
    if not any(e[0] <= t and len(e) > 5 for e in gas.st["fd"]):
        return 0
    n = _run_due(gas, gas.begin(), t)
    gas.commit()
    return n


def _run_due(gas, w, t):
    import binascii

    due = [e for e in w["fd"] if e[0] <= t and len(e) > 5]
    if not due:
        return 0
    w["fd"] = [e for e in w["fd"] if not (e[0] <= t and len(e) > 5)]
    done = []
    for start, k, ph, code, ctr, fc in due:
        cluster, cmd = int(k[:4], 16), int(k[5:7], 16)
        p = binascii.unhexlify(ph)
        if k == "0705.06":  # ChangePaymentMode: the payment control configuration
            gas.set_attr(w, 0x0705, 0x0000, 0x19, p[12:14])
        if cluster in (0x0700, 0x0707) and fc & 0x08:  # a supplier's publication, read by Get...
            if k not in done:
                w["p"][k] = []
                done.append(k)
            w["p"][k].append(ph)
        else:
            w["cfg"][k] = ph
        rec = bytes((code >> 8, code & 0xFF)) + ctr.to_bytes(8, "big") + bytes((cluster >> 8, cluster & 0xFF,
                                                                                fc, cmd))
        gas.queue_alert(w, 0x8F66, start, binascii.hexlify(rec).decode())
    return len(due)


def delivered(role, n):
    """The first n queued alerts were sent at a wake: drop them (one store write)."""
    gas = role.gas
    w = gas.begin()
    del w["q"][:n]
    gas.commit()


def interval(gas):
    return gas.st.get("wi", WAKE_INTERVAL)


def due(gas, now):
    """True when the HAN interface is to be woken at time `now` (seconds since 2000)."""
    return now >= gas.st["wk"]


def woke(gas, now):
    """Record a wake at `now`: the next one is one interval later (one store write)."""
    w = gas.begin()
    w["wk"] = now + interval(gas)
    gas.commit()


def take_fault(gas, counter):
    """(component, attribute) of the fault armed for `counter` (or for any command: counter 0),
    consumed by the next commit(); None when none."""
    raw = gas.store.get(FAULT_REC)
    if not raw:
        return None
    hit = None
    keep = bytearray()
    for i in range(0, len(raw) - 9, 10):
        c = int.from_bytes(raw[i + 2:i + 10], "big")
        if hit is None and (c == counter or c == 0):
            hit = (raw[i], raw[i + 1])
        else:
            keep += raw[i:i + 10]
    if hit is not None:
        gas._fault = bytes(keep)
    return hit


def boot(gas):
    """Settle a top-up log entry committed before its acceptor commit: kept when the acceptor
    took the UTRN (its counter in the acceptor's cache or under its floor), dropped otherwise."""
    if "_f" in gas.st:  # a cut inside commit(): finish handing the fault record over
        gas.w = gas.st
        gas._fault = bytes.fromhex(gas.st.pop("_f"))
        gas.commit()
    acc = gas.acceptor
    t = gas.st["tul"]
    if acc is None or not any(not e[4] for e in t):
        return
    cache = acc.cache
    w = gas.begin()
    done = [e[3] for e in t if e[4]]
    w["tul"] = [e[:4] + [1] for e in t if e[4] or (e[3] in cache and e[3] not in done)]
    del w["tul"][TOP_UP_LOG:]
    gas.commit()


def arm_fault(store, component, attribute=0, counter=0):
    """Arm the GBZ fault hook (module docstring); durable when this returns."""
    raw = store.get(FAULT_REC) or b""
    store.put(FAULT_REC, bytes(raw) + bytes((component, attribute)) + counter.to_bytes(8, "big"))
