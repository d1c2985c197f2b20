"""The GSME's life between commands (shared/reference/gas.md §4.4, §5.3): the consumer's button on the
valve (an ARMED valve opens; a closed one stays closed), the alerts queued for the next HAN wake and
their delivery, the sleepy HAN interface's wake schedule (every `interval` seconds of the GSME's
clock, record "gas" "wi", default 30 min), the GBZ fault hook (firmware/gas/model.py docstring) and
the power-on settling of a top-up interrupted by a power cut. Functions of the GasModel `gas`;
loaded when used (the valve's command path does not need them). Each change is one store write."""
from firmware.compat import const
from firmware.gas.model import FAULT_REC, ARMED, ON, TOP_UP_LOG

WAKE_INTERVAL = const(1800)  # seconds between HAN wakes


def button(gas):
    """The consumer's button: an ARMED valve opens (ON); a closed (OFF) one stays closed.
    Returns the supply state after."""
    if gas.supply() != ARMED:
        return gas.supply()
    w = gas.begin()
    gas.set_attr(w, 0x0702, 0x0014, 0x30, b"\x02")
    gas.commit()
    return ON


def alerts(gas):
    return [tuple(x) for x in gas.st["q"]]


def delivered(gas, n):
    """The first n queued alerts were sent at a wake: drop them (one store write)."""
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
