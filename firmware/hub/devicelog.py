"""The Comms Hub Function's Device Log and Historic Device Log (GBCS CCS01/CCS02/CCS03/CS14 rules as
summarised in shared/reference/han.md §5; DLMS IC 104 ZigBee network control objects 0-0:30.3.0.255
and 0-0:30.3.1.255): the HAN whitelist of the hub, its join windows, the TC link keys, and the
CS14 alerts (0x8F12) every change raises.

    dl = DeviceLog(store, capacity=16, historic=15)
    dl.add(eui, install_code, join_timeout, enabled, now)   # CCS01 -> ADDED / PRESENT / FULL
    dl.remove(eui, now)                                     # CCS02 -> REMOVED / ABSENT
    dl.restore(pan_id, [(eui, hashed_key)], now)            # CCS03 -> RESTORED / FULL
    dl.may_join(eui, now)                                   # (decision, key) for the HAN layer
    dl.joined(eui, link_key, now)                           # TC link key established (CBKE)
    dl.entries() / dl.historic() / dl.backup(historic)      # CCS06 / CCS07 reads
    dl.pending() / dl.delivered(n)                          # the durable alert queue

Rules: a device already in the log keeps its entry and any link key (the new install code is
discarded) and the command succeeds; a new device gets a join window of `join_timeout` seconds
from `now` (when joining is enabled): the whole window with its install-code key, or, when the
Historic Device Log holds a TC link key for it, the first half with that historic key and the
second half with the install code. Only a device in the log may join: any other joiner is
refused, written to the hub's security log and alerted (0x8F48, device joining failed: the GB
alert for this case is not published, han.md §7 [R]). Removing a device with a TC link key copies
(EUI-64, link key) to the historic log (one record per device, the oldest overwritten beyond its
capacity). Every change of the log (add, remove, restore, a TC link key or its hash changing)
queues a CS14 alert whose payload is the log as it is after the change.

Power cuts: the whole state (both logs, join windows, the pending alert queue) is ONE store record
written once per change, so after a cut the log is as before or as after the change and its CS14
alert is queued if and only if the change is in the log. The hub's event-log line for the change is
appended after that write (a cut between the two loses only that line).

Hashed TC link key: AES-MMO (ZigBee B.6) of the 16-byte key; GBCS does not publish the hash it
means (docs/hub.md, deviations). Record "chf_dlog" (JSON, hex strings):
    {"v": 1, "pan": ext PAN id, "jt": join_timeout, "je": joining enabled, "d": [[eui, install code, link key, hashed key, w0, wh, w1, stats]],
     "h": [[eui, link key, hashed key]] (oldest first), "q": [[alert code, time, payload hex]]}
w0..w1 is the join window (epoch seconds, 0 = closed), wh the end of its historic-key half.
stats: the 13 IC 104 active_device fields after the EUI-64 (status, RSSI max/avg/min, LQI
max/avg/min, last communication date-time, hops, transmission failures/successes, application and
stack version), or None before the device has communicated.
"""
import binascii
from firmware.compat import const

REC = const("chf_dlog")
CAPACITY = const(16)  # han.md §9: Silicon Labs GB device-log default; configurable
HISTORIC = const(15)  # GBCS CCS02: the Historic Device Log holds 15 entries
QUEUE = const(8)  # pending alerts kept (a later CS14 carries the whole log, so dropping the oldest
#                   loses no device-log state)

ADDED = const(0)
PRESENT = const(1)
FULL = const(2)
REMOVED = const(3)
ABSENT = const(4)
RESTORED = const(5)

# may_join decisions
REFUSED_UNKNOWN = const(0)  # not in the Device Log (alerted)
REFUSED_CLOSED = const(1)  # in the log, no key it may use now
INSTALL_CODE = const(2)  # join with the install-code link key (key returned)
HISTORIC_KEY = const(3)  # communicate with the historic TC link key (first half of the window)
LINK_KEY = const(4)  # the device's TC link key

DEVICE_LOG_CHANGED = const(0x8F12)
JOIN_FAILED = const(0x8F48)

_E, _IC, _LK, _HK, _W0, _WH, _W1, _ST = 0, 1, 2, 3, 4, 5, 6, 7

_h = binascii.hexlify
_u = binascii.unhexlify


def hx(b):
    return _h(b).decode() if b else ""


def hashed_key(link_key):
    """The hashed TC link key a CS14 alert and CCS07 carry (AES-MMO of the key)."""
    from firmware.crypto.zigbee import aes_mmo

    return aes_mmo(bytes(link_key))


def install_code_key(code):
    """Link key of an install code given WITHOUT its CRC (as CCS01 carries it, han.md §1): the CHF
    appends the CRC-16/X-25 itself, then AES-MMO (han.md §2)."""
    from firmware.crypto.zigbee import aes_mmo, install_code_crc_bytes

    code = bytes(code)
    return aes_mmo(code + install_code_crc_bytes(code))


class DeviceLog:
    """The hub's two device logs in `store` (see the module docstring)."""

    def __init__(self, store, capacity=CAPACITY, historic=HISTORIC, pan=None, on_event=None):
        self.store = store
        self.capacity = capacity
        self.historic_capacity = historic
        self._default_pan = hx(pan) if pan else "0000000000000000"
        # on_event(code, now, detail bytes or None, security): the hub's DLMS event / security logs
        self.on_event = on_event
        self._s = None

    # -- state ------------------------------------------------------------------------------------
    def _state(self):
        s = self._s
        if s is None:
            s = self.store.get_json(REC, None)
            if s is None:
                s = {"v": 1, "pan": self._default_pan, "jt": 0, "je": True, "d": [], "h": [], "q": []}
            self._s = s
        return s

    def _write(self, s):
        """The one store write of a change (atomic: old or new after a cut)."""
        self.store.put_json(REC, s)
        self._s = s

    def _copy(self):
        s = self._state()
        return {"v": 1, "pan": s["pan"], "jt": s["jt"], "je": s["je"], "d": [list(e) for e in s["d"]],
                "h": [list(e) for e in s["h"]], "q": [list(q) for q in s["q"]]}

    def reload(self):
        """Forget the cached state (read the store again: tests, after a simulated reboot)."""
        self._s = None

    # -- reads ------------------------------------------------------------------------------------
    def pan(self):
        return _u(self._state()["pan"])

    def joining(self):
        """(join_timeout seconds, joining enabled) as the last CCS01 set them (IC 104 attributes 3
        and 2)."""
        s = self._state()
        return s["jt"], s["je"]

    def entries(self):
        """[(eui, hashed key, stats)] of the Device Log, in log order."""
        return [(_u(e[_E]), _u(e[_HK]), e[_ST]) for e in self._state()["d"]]

    def euis(self):
        return [_u(e[_E]) for e in self._state()["d"]]

    def historic(self):
        """[(eui, hashed key)] of the Historic Device Log, oldest first."""
        return [(_u(e[0]), _u(e[2])) for e in self._state()["h"]]

    def historic_key(self, eui):
        for e in self._state()["h"]:
            if e[0] == hx(eui):
                return _u(e[1])
        return None

    def find(self, eui):
        k = hx(eui)
        for e in self._state()["d"]:
            if e[_E] == k:
                return e
        return None

    def link_key(self, eui):
        e = self.find(eui)
        return _u(e[_LK]) if e is not None and e[_LK] else None

    def backup(self, historic=False):
        """[(eui, hashed key)] of the Device Log or of the Historic Device Log (CCS07)."""
        if historic:
            return self.historic()
        return [(_u(e[_E]), _u(e[_HK])) for e in self._state()["d"]]

    # -- changes (each: one store write, CS14 queued in it) ---------------------------------------
    def _cs14(self, s, now):
        from firmware.hub import alerts

        body = alerts.cs14_payload(now, _u(s["pan"]), [(_u(e[_E]), _u(e[_HK])) for e in s["d"]])
        self._queue(s, DEVICE_LOG_CHANGED, now, body)

    def _queue(self, s, code, now, payload):
        q = s["q"]
        q.append([code, now, hx(payload) if payload else ""])
        while len(q) > QUEUE:
            q.pop(0)

    def _event(self, code, now, detail=None, security=False):
        if self.on_event is not None:
            self.on_event(code, now, detail, security)

    def set_joining(self, join_timeout, enabled):
        """IC 104 join_timeout / enable_disable_joining without a registration (one store write)."""
        s = self._copy()
        s["jt"], s["je"] = join_timeout, bool(enabled)
        self._write(s)

    def add(self, eui, install_code, join_timeout, enabled, now):
        """CCS01 register_device with the command's join_timeout / enable_disable_joining (kept as
        the IC 104 attributes in the same write)."""
        eui = bytes(eui)
        s = self._copy()
        s["jt"], s["je"] = join_timeout, bool(enabled)
        if self.find(eui) is not None:
            if (s["jt"], s["je"]) != (self._s["jt"], self._s["je"]):
                self._write(s)
            return PRESENT
        if len(s["d"]) >= self.capacity:
            return FULL
        w0 = wh = w1 = 0
        if enabled and join_timeout > 0:
            w0, w1 = now, now + join_timeout
            if self.historic_key(eui) is not None:
                wh = now + join_timeout // 2
        s["d"].append([hx(eui), hx(install_code), "", "", w0, wh, w1, None])
        self._cs14(s, now)
        self._write(s)
        self._event(DEVICE_LOG_CHANGED, now)
        return ADDED

    def remove(self, eui, now, hht=False):
        """CCS02 unregister_device: a TC link key moves to the historic log (not an HHT's)."""
        k = hx(eui)
        s = self._copy()
        for i in range(len(s["d"])):
            e = s["d"][i]
            if e[_E] != k:
                continue
            del s["d"][i]
            if e[_LK] and not hht:
                h = s["h"]
                for j in range(len(h)):
                    if h[j][0] == k:
                        del h[j]
                        break
                h.append([k, e[_LK], e[_HK]])
                while len(h) > self.historic_capacity:
                    h.pop(0)
            self._cs14(s, now)
            self._write(s)
            self._event(DEVICE_LOG_CHANGED, now)
            return REMOVED
        return ABSENT

    def restore(self, pan, devices, now):
        """CCS03 restore_PAN: the PAN's extended ID and its devices with their hashed keys (the link
        keys themselves are not restored: each device joins again)."""
        if len(devices) > self.capacity:
            return FULL
        s = self._copy()
        s["pan"] = hx(pan)
        s["d"] = [[hx(e), "", "", hx(hk), 0, 0, 0, None] for e, hk in devices]
        self._cs14(s, now)
        self._write(s)
        self._event(DEVICE_LOG_CHANGED, now)
        return RESTORED

    def joined(self, eui, link_key, now):
        """The device's TC link key is established (stored only after the peer's MAC verified, by the
        HAN layer): the key and its hash are logged, the join window closes, CS14 is queued when the
        hash changed."""
        k = hx(eui)
        s = self._copy()
        for e in s["d"]:
            if e[_E] == k:
                hk = hx(hashed_key(link_key))
                changed = e[_HK] != hk
                e[_LK] = hx(link_key)
                e[_HK] = hk
                e[_IC] = ""
                e[_W0] = e[_WH] = e[_W1] = 0
                if changed:
                    self._cs14(s, now)
                self._write(s)
                if changed:
                    self._event(DEVICE_LOG_CHANGED, now)
                return True
        return False

    def set_stats(self, eui, stats):
        """Record the IC 104 active_device fields of a device (the HAN layer's radio statistics)."""
        k = hx(eui)
        s = self._copy()
        for e in s["d"]:
            if e[_E] == k:
                e[_ST] = list(stats)
                self._write(s)
                return True
        return False

    def set_pan(self, pan):
        s = self._copy()
        s["pan"] = hx(pan)
        self._write(s)

    def put_entry(self, eui, hashed=b"", stats=None):
        """Write a Device Log entry as it is, no alert (bench seeding and the HAN layer's tests);
        False when the log is full."""
        k = hx(eui)
        s = self._copy()
        for e in s["d"]:
            if e[_E] == k:
                e[_HK] = hx(hashed)
                e[_ST] = stats
                break
        else:
            if len(s["d"]) >= self.capacity:
                return False
            s["d"].append([k, "", "", hx(hashed), 0, 0, 0, stats])
        self._write(s)
        return True

    def put_historic(self, eui, link_key, hashed=None):
        """Write a Historic Device Log record (bench seeding and the HAN layer's tests)."""
        k = hx(eui)
        s = self._copy()
        h = [r for r in s["h"] if r[0] != k]
        hk = hashed if hashed is not None else (hashed_key(link_key) if link_key else b"")
        h.append([k, hx(link_key), hx(hk)])
        while len(h) > self.historic_capacity:
            h.pop(0)
        s["h"] = h
        self._write(s)

    # -- joining ----------------------------------------------------------------------------------
    def may_join(self, eui, now):
        """(decision, key or None) for a device asking to join or talk on the HAN (the HAN layer
        calls this before admitting it). A device not in the Device Log is refused, logged and
        alerted (one store write: the alert queue)."""
        e = self.find(eui)
        if e is None:
            s = self._copy()
            self._queue(s, JOIN_FAILED, now, bytes(eui))
            self._write(s)
            self._event(JOIN_FAILED, now, bytes(eui), True)
            return REFUSED_UNKNOWN, None
        if e[_LK]:
            return LINK_KEY, _u(e[_LK])
        if e[_W0] <= now < e[_W1]:
            if now < e[_WH]:
                hk = self.historic_key(eui)
                if hk:
                    return HISTORIC_KEY, hk
            if e[_IC]:
                return INSTALL_CODE, install_code_key(_u(e[_IC]))
        self._event(JOIN_FAILED, now, bytes(eui), True)
        return REFUSED_CLOSED, None

    # -- alert queue ------------------------------------------------------------------------------
    def pending(self):
        """[(alert code, time, payload bytes)] queued, oldest first."""
        return [(q[0], q[1], _u(q[2])) for q in self._state()["q"]]

    def delivered(self, n=1):
        """Drop the `n` oldest pending alerts (sent and acknowledged)."""
        s = self._copy()
        del s["q"][:n]
        self._write(s)
