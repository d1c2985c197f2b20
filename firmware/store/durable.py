"""Durable store: the one place device state is persisted (design in docs/storage.md).

Records carry a format version and a CRC-32 (binascii.crc32) and live in two generation slots
(A/B) with a sequence number; put() rewrites the older slot through `<file>.tmp` + os.rename, so
after a power cut at any point get() returns the old or the new bytes, and a corrupt newest copy
(bad CRC, unknown version) falls back to the previous good generation, logged to the "event" log.
Bounded append-only logs (security, event) rotate between two segment files; monotonic counters
refuse to go backwards. Runs unchanged on MicroPython (littlefs2, shared/reference/micropython.md
§4) and CPython (plain directory, fsync'd).

This module holds what a running device needs; the start-of-day check (Store.boot) lives in
firmware.store.repair, imported by the first boot() only.
"""
import os
import struct
from binascii import crc32

from firmware.alerts import Reject
from firmware.compat import const

_VERSION = const(1)  # record format version written by this firmware
_MAGIC = const(0x52)  # b"R": record
_HDR_LEN = const(10)  # ">BBII": magic, version, seq, length
_CRC_LEN = const(4)
_FRAME_LEN = const(7)  # ">HBI": log frame length, type (0 bytes / 1 str), crc32(type + payload)
_MAX_NAME = const(32)
_MAX_ENTRY = const(1024)
_SLOTS = (".a", ".b")
_NAME_OK = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


def _frame(seq, data, version=_VERSION):
    """(header, CRC trailer) that enclose `data` in a record file."""
    head = struct.pack(">BBII", _MAGIC, version, seq, len(data))
    return head, struct.pack(">I", crc32(data, crc32(head)))


def encode_record(seq, data, version=_VERSION):
    """Bytes of one record file (exposed for tests and host tools that build flash images)."""
    head, tail = _frame(seq, data, version)
    return b"".join((head, data, tail))


def decode_record(raw):
    """(seq, data) of a record file's bytes, or raise Reject("store-corrupt") naming the problem."""
    n = len(raw)
    if n < _HDR_LEN + _CRC_LEN:
        raise Reject("store-corrupt", None, "short")
    magic, ver, seq, size = struct.unpack_from(">BBII", raw)
    if magic != _MAGIC or _HDR_LEN + size + _CRC_LEN != n:
        raise Reject("store-corrupt", None, "format")
    mv = memoryview(raw)  # no copies of the record but the data returned
    if crc32(mv[:-_CRC_LEN]) != struct.unpack_from(">I", raw, n - _CRC_LEN)[0]:
        raise Reject("store-corrupt", None, "crc")
    if ver != _VERSION:
        raise Reject("store-corrupt", None, "version %d" % ver)
    return seq, bytes(mv[_HDR_LEN:-_CRC_LEN])


def _check_name(name):
    if not isinstance(name, str) or not 0 < len(name) <= _MAX_NAME:
        raise Reject("store-name", None, repr(name))
    for ch in name:
        if ch not in _NAME_OK:
            raise Reject("store-name", None, repr(name))


def _to_bytes(data):
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise Reject("store-type", None, type(data).__name__)


class Store:
    """Versioned, CRC'd records, bounded logs and counters under one directory (`root`)."""

    def __init__(self, root):
        self.root = root.rstrip("/") if len(root) > 1 else root
        self._newest = {}  # file stem -> (slot index, seq) of the newest valid slot
        self._logs = {}
        try:
            os.stat(self.root)
        except OSError:
            os.mkdir(self.root)

    # -- file helpers ---------------------------------------------------------------------------
    def _path(self, fname):
        return self.root + "/" + fname

    def _read(self, fname):
        with open(self._path(fname), "rb") as f:
            return f.read()

    def _write_atomic(self, fname, *parts):
        """Write the parts to `fname` through `fname.tmp` + rename (rename is atomic on littlefs and
        POSIX); parts are written one by one, never joined (no second copy of a record in RAM)."""
        tmp = self._path(fname + ".tmp")
        with open(tmp, "wb") as f:
            for p in parts:
                f.write(p)
            _sync(f)
        os.rename(tmp, self._path(fname))
        _sync(self.root)

    def _remove(self, fname):
        os.remove(self._path(fname))
        _sync(self.root)

    # -- records --------------------------------------------------------------------------------
    def _load(self, stem, report=None, strict=True):
        """Newest valid (seq, data) of record `stem`, or None if never written.

        A corrupt slot is logged; when the other slot is good it is the copy used and the corrupt
        slot is removed (so the next put overwrites it). No good copy: Reject("store-corrupt").
        """
        best = None
        bad = []
        for i in (0, 1):
            fname = stem + _SLOTS[i]
            try:
                raw = self._read(fname)
            except OSError:
                continue
            try:
                seq, data = decode_record(raw)
            except Reject as e:
                bad.append((fname, e.detail))
                continue
            if best is None or seq > best[1]:
                best = (i, seq, data)
        note = "using last good copy" if best else "no good copy"
        for fname, problem in bad:
            self.log("event").append("store-corrupt %s: %s; %s" % (fname, problem, note))
            if best:
                self._remove(fname)
            else:
                problem += ", " + note
            if report is not None:
                report.append((fname, problem))
        if best is None:
            self._newest.pop(stem, None)
            if bad and strict:
                raise Reject("store-corrupt", None, "%s: %s" % (stem, problem))
            return None
        self._newest[stem] = (best[0], best[1])
        return best[1], best[2]

    def _store(self, stem, data):
        cur = self._newest.get(stem)
        if cur is None:  # no good copy at all: the new value replaces the corrupt one(s)
            self._load(stem, None, False)
            cur = self._newest.get(stem)
        slot, seq = (1 - cur[0], cur[1] + 1) if cur else (0, 1)
        head, tail = _frame(seq, data)
        self._write_atomic(stem + _SLOTS[slot], head, data, tail)
        self._newest[stem] = (slot, seq)

    def get(self, name):
        """bytes of record `name`, None if never written; Reject("store-corrupt") if no good copy."""
        _check_name(name)
        r = self._load("R." + name)
        return None if r is None else r[1]

    def put(self, name, data):
        """Atomically replace record `name` (bytes or str): after a power cut get() is old or new."""
        _check_name(name)
        self._store("R." + name, _to_bytes(data))

    def get_json(self, name, default=None):
        import json

        b = self.get(name)
        if b is None:
            return default
        try:
            return json.loads(b)
        except ValueError as e:
            raise Reject("store-corrupt", None, "%s: json %s" % (name, e))

    def put_json(self, name, obj):
        import json

        self.put(name, json.dumps(obj))

    def delete(self, name):
        """Remove record `name` (both generations); a later get() returns None.

        The older slot goes first, so a power cut in between leaves the current value, never
        the previous generation.
        """
        _check_name(name)
        stem = "R." + name
        self._load(stem, None, False)
        cur = self._newest.pop(stem, None)
        for i in (1 - cur[0], cur[0]) if cur else (0, 1):
            fname = stem + _SLOTS[i]
            try:
                os.stat(self._path(fname))
            except OSError:  # that slot was never written
                continue
            self._remove(fname)

    # -- logs and counters ----------------------------------------------------------------------
    def log(self, name, max_entries=256):
        """The bounded append-only Log `name` (one object per name and store).

        The bound is the caller's: the latest `max_entries` given applies.
        """
        _check_name(name)
        if not isinstance(max_entries, int) or max_entries < 2:
            raise Reject("store-log-size", None, repr(max_entries))
        lg = self._logs.get(name)
        if lg is None:
            lg = self._logs[name] = Log(self, name)
        lg.per_seg = max_entries // 2
        return lg

    def counter(self, name):
        """The durable monotonic Counter `name`."""
        _check_name(name)
        return Counter(self, name)

    def boot(self):
        """Start-of-day check: delete stale *.tmp, verify every record slot and log segment.

        Returns a list of (file name, problem) found and repaired (or left for get() to refuse).
        The code is firmware.store.repair, imported on the first call (the GBCS pipeline never
        loads it; a board's start-up does, once).
        """
        from firmware.store import repair

        return repair.boot(self)


class Log:
    """Bounded append-only log: entries in segment files `L.<name>.<n>`, at most two kept.

    A segment holds per_seg = max_entries // 2 entries; a full segment starts a new one and the one
    before it is deleted, so between max_entries // 2 and max_entries of the newest entries are kept.
    """

    def __init__(self, store, name):
        self.store = store
        self.name = name
        self.per_seg = 1  # set by Store.log
        self._segs = None  # sorted segment numbers
        self._count = 0  # entries in the newest segment

    def _fname(self, n):
        return "L.%s.%d" % (self.name, n)

    def _scan(self, report):
        """Find the segments and count the newest one's entries; repairs go to `report`.

        More than two segments (a cut between "new segment" and "drop the oldest") loses the
        oldest; a torn tail of the newest (possible on a plain file system) is cut back to the
        valid prefix so later appends stay readable.
        """
        st = self.store
        prefix = "L." + self.name + "."
        k = len(prefix)
        segs = []
        for f in os.listdir(st.root):
            if f[:k] == prefix and f[k:].isdigit():
                segs.append(int(f[k:]))
        segs.sort()
        while len(segs) > 2:
            old = self._fname(segs.pop(0))
            st._remove(old)
            report.append((old, "extra log segment"))
        self._segs = segs
        self._count = 0
        if segs:
            fname = self._fname(segs[-1])
            self._count, good = self._frames(fname)
            if good != os.stat(st._path(fname))[6]:
                st._write_atomic(fname, st._read(fname)[:good])
                report.append((fname, "torn log tail"))

    def _frames(self, fname, out=None):
        """(entries, length of the valid prefix) of segment `fname`, appending them to `out` if
        given. Read frame by frame, never the whole segment at once; parsing stops at the first
        frame that does not check."""
        count = good = 0
        with open(self.store._path(fname), "rb") as f:
            while True:
                head = f.read(_FRAME_LEN)
                if len(head) < _FRAME_LEN:
                    break
                n, typ, crc = struct.unpack(">HBI", head)
                if n > _MAX_ENTRY or typ > 1:
                    break
                payload = f.read(n)
                if len(payload) < n or crc32(payload, crc32(head[2:3])) != crc:
                    break
                if out is not None:
                    out.append(payload.decode() if typ else payload)
                count += 1
                good += _FRAME_LEN + n
        return count, good

    def append(self, entry):
        """Append one entry (bytes or str, <= 1024 bytes); durable once this returns."""
        typ = 1 if isinstance(entry, str) else 0
        payload = _to_bytes(entry)
        if len(payload) > _MAX_ENTRY:
            raise Reject("store-entry-size", None, str(len(payload)))
        if self._segs is None:
            self._scan([])
        segs = self._segs
        frame = struct.pack(">HBI", len(payload), typ, crc32(payload, crc32(bytes((typ,))))) + payload
        st = self.store
        if not segs or self._count >= self.per_seg:
            n = segs[-1] + 1 if segs else 0
            st._write_atomic(self._fname(n), frame)  # a new segment is born complete
            segs.append(n)
            self._count = 1
            while len(segs) > 2:
                st._remove(self._fname(segs.pop(0)))
            return
        with open(st._path(self._fname(segs[-1])), "ab") as f:
            f.write(frame)
            _sync(f)
        self._count += 1

    def entries(self):
        """All kept entries, oldest first (str entries come back as str, bytes as bytes)."""
        if self._segs is None:
            self._scan([])
        out = []
        for n in self._segs:
            try:
                self._frames(self._fname(n), out)
            except OSError as e:  # a segment rotated away since the scan (ENOENT), or unreadable:
                if e.args and e.args[0] == 2:  # the other segment's entries are still returned
                    continue
                self._segs = None  # rescanned at the next call
                raise
        return out


class Counter:
    """A durable monotonic counter (e.g. a replay-protection high-water mark), 64-bit unsigned."""

    def __init__(self, store, name):
        self.store = store
        self.stem = "C." + name
        r = store._load(self.stem)
        b = r[1] if r else bytes(8)
        if len(b) != 8:
            raise Reject("store-corrupt", None, "counter %s: length %d" % (name, len(b)))
        self.value = struct.unpack(">Q", b)[0]

    def advance_to(self, v):
        """Set the counter to v >= value (equal is a no-op); going backwards raises Reject."""
        if not isinstance(v, int) or v < 0 or v >> 64:  # (no 2**64 constant: a bignum on the heap)
            raise Reject("counter-range", None, repr(v))
        if v < self.value:
            raise Reject("counter-backwards", None, "%d < %d" % (v, self.value))
        if v != self.value:
            self.store._store(self.stem, struct.pack(">Q", v))
            self.value = v
        return v

    def increment(self):
        """Advance by one and return the new value."""
        return self.advance_to(self.value + 1)


def _sync(f):
    """CPython only (on littlefs close, rename and remove are commits): make an open file's bytes,
    or a directory's last rename or remove (f = its path), durable."""
    if hasattr(os, "fsync"):
        if not isinstance(f, str):
            f.flush()
            os.fsync(f.fileno())
        elif hasattr(os, "O_DIRECTORY"):  # POSIX
            fd = os.open(f, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
