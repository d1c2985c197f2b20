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
means (docs/hub.md, deviations). Record "chf_dlog" (binary, all integers big-endian):
    b"DL\x02" | PAN id (8) | join_timeout (2) | joining enabled (1) | n log | n historic | n queue
    per log entry:      EUI-64 (8) | install code (1+n) | link key (1+n) | hashed key (1+n) |
                        window start (4) | end of its historic-key half (4) | window end (4) |
                        statistics (1+n: A-XDR structure of the 13 IC 104 active_device fields
                        after the EUI-64, empty before the device has communicated)
    per historic entry: EUI-64 (8) | link key (1+n) | hashed key (1+n)     (oldest first)
    per queued alert:   alert code (2) | time (4) | payload (2+n)
Times are epoch seconds (0: closed window). A record that does not parse raises
Reject("store-corrupt").
"""
import struct
from firmware.compat import const
from firmware.alerts import Reject

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

_MAGIC = const(b"DL\x02")


def pack(s):
    o = bytearray(_MAGIC)
    o += s["pan"]
    o += struct.pack(">HBBBB", s["jt"], 1 if s["je"] else 0, len(s["d"]), len(s["h"]), len(s["q"]))
    for e in s["d"]:
        o += e[_E]
        for f in (e[_IC], e[_LK], e[_HK]):
            o.append(len(f))
            o += f
        o += struct.pack(">III", e[_W0], e[_WH], e[_W1])
        st = e[_ST] or b""
        o.append(len(st))
        o += st
    for h in s["h"]:
        o += h[0]
        for f in (h[1], h[2]):
            o.append(len(f))
            o += f
    for q in s["q"]:
        o += struct.pack(">HIH", q[0], q[1], len(q[2]))
        o += q[2]
    return bytes(o)


def _unpack(b):
    try:
        if b[:3] != _MAGIC:
            raise ValueError
        s = {"pan": bytes(b[3:11])}
        jt, je, nd, nh, nq = struct.unpack_from(">HBBBB", b, 11)
        s["jt"], s["je"] = jt, je != 0
        p = 17
        d = []
        for _ in range(nd):
            e = [bytes(b[p:p + 8])]
            p += 8
            for _ in range(3):
                n = b[p]
                e.append(bytes(b[p + 1:p + 1 + n]))
                p += 1 + n
            e += list(struct.unpack_from(">III", b, p))
            p += 12
            n = b[p]
            e.append(bytes(b[p + 1:p + 1 + n]) if n else None)
            p += 1 + n
            d.append(e)
        h = []
        for _ in range(nh):
            r = [bytes(b[p:p + 8])]
            p += 8
            for _ in range(2):
                n = b[p]
                r.append(bytes(b[p + 1:p + 1 + n]))
                p += 1 + n
            h.append(r)
        q = []
        for _ in range(nq):
            c, t, n = struct.unpack_from(">HIH", b, p)
            q.append([c, t, bytes(b[p + 8:p + 8 + n])])
            p += 8 + n
        if p != len(b):
            raise ValueError
    except (ValueError, IndexError):
        raise Reject("store-corrupt", None, "chf_dlog record")
    s["d"], s["h"], s["q"] = d, h, q
    return s


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
        self._default_pan = bytes(pan) if pan else bytes(8)
        # on_event(code, now, detail bytes or None, security): the hub's DLMS event / security logs
        self.on_event = on_event
        self._s = None

    # -- state ------------------------------------------------------------------------------------
    def _state(self):
        s = self._s
        if s is None:
            b = self.store.get(REC)
            if b is None:
                s = {"pan": self._default_pan, "jt": 0, "je": True, "d": [], "h": [], "q": []}
            else:
                s = _unpack(b)
            self._s = s
        return s

    def _write(self, s):
        """The one store write of a change (atomic: old or new after a cut)."""
        self.store.put(REC, pack(s))
        self._s = s

    def _copy(self):
        s = self._state()
        return {"pan": s["pan"], "jt": s["jt"], "je": s["je"], "d": [list(e) for e in s["d"]],
                "h": [list(e) for e in s["h"]], "q": [list(q) for q in s["q"]]}

    def reload(self):
        """Forget the cached state (read the store again: tests, after a simulated reboot)."""
        self._s = None

    # -- reads ------------------------------------------------------------------------------------
    def pan(self):
        return self._state()["pan"]

    def joining(self):
        """(join_timeout seconds, joining enabled) as the last CCS01 set them (IC 104 attributes 3
        and 2)."""
        s = self._state()
        return s["jt"], s["je"]

    def entries(self):
        """[(eui, hashed key, stats)] of the Device Log, in log order."""
        return [(e[_E], e[_HK], e[_ST]) for e in self._state()["d"]]

    def euis(self):
        return [e[_E] for e in self._state()["d"]]

    def historic(self):
        """[(eui, hashed key)] of the Historic Device Log, oldest first."""
        return [(e[0], e[2]) for e in self._state()["h"]]

    def historic_key(self, eui):
        for e in self._state()["h"]:
            if e[0] == eui:
                return e[1] or None
        return None

    def find(self, eui):
        k = bytes(eui)
        for e in self._state()["d"]:
            if e[_E] == k:
                return e
        return None

    def link_key(self, eui):
        e = self.find(eui)
        return e[_LK] if e is not None and e[_LK] else None

    def backup(self, historic=False):
        """[(eui, hashed key)] of the Device Log or of the Historic Device Log (CCS07)."""
        if historic:
            return self.historic()
        return [(e[_E], e[_HK]) for e in self._state()["d"]]

    # -- changes (each: one store write, CS14 queued in it) ---------------------------------------
    def _cs14(self, s, now):
        from firmware.hub import alerts

        body = alerts.cs14_payload(now, s["pan"], [(e[_E], e[_HK]) for e in s["d"]])
        self._queue(s, DEVICE_LOG_CHANGED, now, body)

    def _queue(self, s, code, now, payload):
        q = s["q"]
        q.append([code, now, bytes(payload or b"")])
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
        s["d"].append([eui, bytes(install_code), b"", b"", w0, wh, w1, None])
        self._cs14(s, now)
        self._write(s)
        self._event(DEVICE_LOG_CHANGED, now)
        return ADDED

    def remove(self, eui, now, hht=False):
        """CCS02 unregister_device: a TC link key moves to the historic log (not an HHT's)."""
        k = bytes(eui)
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
        s["pan"] = bytes(pan)
        s["d"] = [[bytes(e), b"", b"", bytes(hk), 0, 0, 0, None] for e, hk in devices]
        self._cs14(s, now)
        self._write(s)
        self._event(DEVICE_LOG_CHANGED, now)
        return RESTORED

    def joined(self, eui, link_key, now):
        """The device's TC link key is established (stored only after the peer's MAC verified, by the
        HAN layer): the key and its hash are logged, the join window closes, CS14 is queued when the
        hash changed."""
        k = bytes(eui)
        s = self._copy()
        for e in s["d"]:
            if e[_E] == k:
                hk = hashed_key(link_key)
                changed = e[_HK] != hk
                e[_LK] = bytes(link_key)
                e[_HK] = hk
                e[_IC] = b""
                e[_W0] = e[_WH] = e[_W1] = 0
                if changed:
                    self._cs14(s, now)
                self._write(s)
                if changed:
                    self._event(DEVICE_LOG_CHANGED, now)
                return True
        return False

    def set_stats(self, eui, stats):
        """Record the IC 104 active_device fields of a device (the HAN layer's radio statistics):
        `stats` the A-XDR structure of the 13 fields after the EUI-64."""
        k = bytes(eui)
        s = self._copy()
        for e in s["d"]:
            if e[_E] == k:
                e[_ST] = bytes(stats)
                self._write(s)
                return True
        return False

    def set_pan(self, pan):
        s = self._copy()
        s["pan"] = bytes(pan)
        self._write(s)

    def put_entry(self, eui, hashed=b"", stats=None):
        """Write a Device Log entry as it is, no alert (bench seeding and the HAN layer's tests);
        False when the log is full."""
        k = bytes(eui)
        s = self._copy()
        for e in s["d"]:
            if e[_E] == k:
                e[_HK] = bytes(hashed)
                e[_ST] = stats
                break
        else:
            if len(s["d"]) >= self.capacity:
                return False
            s["d"].append([k, b"", b"", bytes(hashed), 0, 0, 0, stats])
        self._write(s)
        return True

    def put_historic(self, eui, link_key, hashed=None):
        """Write a Historic Device Log record (bench seeding and the HAN layer's tests)."""
        k = bytes(eui)
        s = self._copy()
        h = [r for r in s["h"] if r[0] != k]
        hk = hashed if hashed is not None else (hashed_key(link_key) if link_key else b"")
        h.append([k, bytes(link_key), bytes(hk)])
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
            return LINK_KEY, e[_LK]
        if e[_W0] <= now < e[_W1]:
            if now < e[_WH]:
                hk = self.historic_key(eui)
                if hk:
                    return HISTORIC_KEY, hk
            if e[_IC]:
                return INSTALL_CODE, install_code_key(e[_IC])
        self._event(JOIN_FAILED, now, bytes(eui), True)
        return REFUSED_CLOSED, None

    # -- alert queue ------------------------------------------------------------------------------
    def pending(self):
        """[(alert code, time, payload bytes)] queued, oldest first."""
        return [(q[0], q[1], q[2]) for q in self._state()["q"]]

    def delivered(self, n=1):
        """Drop the `n` oldest pending alerts (sent and acknowledged)."""
        s = self._copy()
        del s["q"][:n]
        self._write(s)
