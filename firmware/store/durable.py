"""Durable store: the one place device state is persisted (issue 2 item 7; design in docs/storage.md).

Records carry a format version and a CRC-32 (binascii.crc32) and live in two generation slots
(A/B) with a sequence number; put() rewrites the older slot through `<file>.tmp` + os.rename, so
after a power cut at any point get() returns the old or the new bytes, and a corrupt newest copy
(bad CRC, unknown version) falls back to the previous good generation, logged to the "event" log.
Bounded append-only logs (security, event) rotate between two segment files; monotonic counters
refuse to go backwards. Runs unchanged on MicroPython (littlefs2, shared/reference/micropython.md
§4) and CPython (plain directory, fsync'd).
"""
import os
import struct
from binascii import crc32

from firmware.alerts import Reject
from firmware.compat import const

VERSION = const(1)  # record format version written by this firmware
_MAGIC = const(0x52)  # b"R": record
_HDR = ">BBII"  # magic, version, seq, length
_HDR_LEN = const(10)
_CRC_LEN = const(4)
_FRAME = ">HBI"  # log frame: length, type (0 bytes / 1 str), crc32(type + payload)
_FRAME_LEN = const(7)
_MAX_NAME = const(32)
_MAX_ENTRY = const(1024)
_SLOTS = ("a", "b")
_NAME_OK = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


def _crc(b, start=0):
    return crc32(b, start) & 0xFFFFFFFF


def encode_record(seq, data, version=VERSION):
    """Bytes of one record file (exposed for tests and host tools that build flash images)."""
    head = struct.pack(_HDR, _MAGIC, version, seq, len(data))
    return head + data + struct.pack(">I", _crc(data, _crc(head)))


def decode_record(raw):
    """(seq, data) of a record file's bytes, or raise Reject("store-corrupt") naming the problem."""
    if len(raw) < _HDR_LEN + _CRC_LEN:
        raise Reject("store-corrupt", None, "short")
    magic, ver, seq, n = struct.unpack(_HDR, raw[:_HDR_LEN])
    if magic != _MAGIC or _HDR_LEN + n + _CRC_LEN != len(raw):
        raise Reject("store-corrupt", None, "format")
    (want,) = struct.unpack(">I", raw[-_CRC_LEN:])
    if _crc(raw[:-_CRC_LEN]) != want:
        raise Reject("store-corrupt", None, "crc")
    if ver != VERSION:
        raise Reject("store-corrupt", None, "version %d" % ver)
    return seq, bytes(raw[_HDR_LEN:-_CRC_LEN])


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

    def _exists(self, fname):
        try:
            os.stat(self._path(fname))
            return True
        except OSError:
            return False

    def _read(self, fname):
        with open(self._path(fname), "rb") as f:
            return f.read()

    def _write_atomic(self, fname, data):
        """Write `fname` through `fname.tmp` + rename (rename is atomic on littlefs and POSIX)."""
        tmp = self._path(fname + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            _sync(f)
        os.rename(tmp, self._path(fname))
        _sync_dir(self.root)

    def _remove(self, fname):
        os.remove(self._path(fname))
        _sync_dir(self.root)

    def _files(self):
        return os.listdir(self.root)

    # -- records --------------------------------------------------------------------------------
    def _load(self, stem, report=None, strict=True):
        """Newest valid (seq, data) of record `stem`, or None if never written.

        A corrupt slot is logged; when the other slot is good it is the copy used and the corrupt
        slot is removed (so the next put overwrites it). No good copy: Reject("store-corrupt").
        """
        best = None
        bad = []
        for i in range(2):
            fname = stem + "." + _SLOTS[i]
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
        for fname, problem in bad:
            self._event("store-corrupt %s: %s; %s" % (
                fname, problem, "using last good copy" if best else "no good copy"))
            if report is not None:
                report.append((fname, problem if best else problem + ", no good copy"))
            if best is not None:
                self._remove(fname)
        if best is None:
            self._newest.pop(stem, None)
            if bad and strict:
                raise Reject("store-corrupt", None, "%s: %s, no good copy" % (stem, bad[0][1]))
            return None
        self._newest[stem] = (best[0], best[1])
        return best[1], best[2]

    def _store(self, stem, data):
        cur = self._newest.get(stem)
        if cur is None:  # no good copy at all: the new value replaces the corrupt one(s)
            self._load(stem, None, False)
            cur = self._newest.get(stem)
        slot, seq = (1 - cur[0], cur[1] + 1) if cur else (0, 1)
        self._write_atomic(stem + "." + _SLOTS[slot], encode_record(seq, data))
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
            return json.loads(b.decode())
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
        cur = self._newest.get(stem)
        order = (1 - cur[0], cur[0]) if cur else (0, 1)
        for i in order:
            if self._exists(stem + "." + _SLOTS[i]):
                self._remove(stem + "." + _SLOTS[i])
        self._newest.pop(stem, None)

    # -- logs and counters ----------------------------------------------------------------------
    def log(self, name, max_entries=256):
        """The bounded append-only Log `name` (one object per name and store)."""
        _check_name(name)
        lg = self._logs.get(name)
        if lg is None:
            lg = Log(self, name, max_entries)
            self._logs[name] = lg
        elif max_entries // 2 != lg.per_seg:  # the bound is the caller's: the latest one applies
            lg.resize(max_entries)
        return lg

    def counter(self, name):
        """The durable monotonic Counter `name`."""
        _check_name(name)
        return Counter(self, name)

    def _event(self, text):
        self.log("event").append(text)

    # -- boot -----------------------------------------------------------------------------------
    def boot(self):
        """Start-of-day check: delete stale *.tmp, verify every record slot and log segment.

        Returns a list of (file name, problem) found and repaired (or left for get() to refuse).
        """
        report = []
        stems = []
        logs = []
        for fname in self._files():
            if fname.endswith(".tmp"):
                self._remove(fname)
                report.append((fname, "stale tmp"))
            elif fname[:2] in ("R.", "C.") and fname[-2:] in (".a", ".b"):
                if fname[:-2] not in stems:
                    stems.append(fname[:-2])
            elif fname[:2] == "L.":
                nm = fname[2:fname.rfind(".")]
                if nm not in logs:
                    logs.append(nm)
        self._newest = {}
        self._logs = {}
        for nm in logs:  # scanning does not depend on the bound, which the log's user gives
            Log(self, nm, 2)._scan(report)
        for stem in stems:  # a record with no good copy stays refused until it is rewritten
            self._load(stem, report, False)
        return report


class Log:
    """Bounded append-only log: entries in segment files `L.<name>.<n>`, at most two kept.

    A segment holds max_entries // 2 entries; a full segment starts a new one and the one before
    it is deleted, so between max_entries // 2 and max_entries of the newest entries are kept.
    """

    def __init__(self, store, name, max_entries):
        self.store = store
        self.name = name
        self.resize(max_entries)
        self._segs = None  # sorted segment numbers
        self._count = 0  # entries in the newest segment

    def resize(self, max_entries):
        if not isinstance(max_entries, int) or max_entries < 2:
            raise Reject("store-log-size", None, repr(max_entries))
        self.per_seg = max_entries // 2

    def _fname(self, n):
        return "L.%s.%d" % (self.name, n)

    def _scan(self, report=None):
        prefix = "L." + self.name + "."
        segs = []
        for fname in self.store._files():
            if fname.startswith(prefix) and not fname.endswith(".tmp"):
                tail = fname[len(prefix):]
                if tail.isdigit():
                    segs.append(int(tail))
        segs.sort()
        while len(segs) > 2:  # a cut between "new segment" and "drop the oldest"
            old = self._fname(segs.pop(0))
            self.store._remove(old)
            if report is not None:
                report.append((old, "extra log segment"))
        self._segs = segs
        self._count = 0
        if report is not None and len(segs) == 2:  # the older segment is never written again
            raw = self.store._read(self._fname(segs[0]))
            if _parse(raw)[1] != len(raw):  # cannot come from a power cut: corruption
                report.append((self._fname(segs[0]), "corrupt log segment"))
                if self.name != "event":
                    self.store._event("store-corrupt %s: bad frame, entries after it lost"
                                      % self._fname(segs[0]))
        if segs:
            raw = self.store._read(self._fname(segs[-1]))
            items, good = _parse(raw)
            if good != len(raw):  # torn tail (possible on a plain file system): keep valid prefix
                self.store._write_atomic(self._fname(segs[-1]), raw[:good])
                if report is not None:
                    report.append((self._fname(segs[-1]), "torn log tail"))
            self._count = len(items)

    def append(self, entry):
        """Append one entry (bytes or str, <= 1024 bytes); durable once this returns."""
        typ = 1 if isinstance(entry, str) else 0
        payload = _to_bytes(entry)
        if len(payload) > _MAX_ENTRY:
            raise Reject("store-entry-size", None, str(len(payload)))
        if self._segs is None:
            self._scan()
        crc = _crc(payload, _crc(bytes((typ,))))
        frame = struct.pack(_FRAME, len(payload), typ, crc) + payload
        st = self.store
        if not self._segs or self._count >= self.per_seg:
            n = self._segs[-1] + 1 if self._segs else 0
            st._write_atomic(self._fname(n), frame)  # a new segment is born complete
            self._segs.append(n)
            self._count = 1
            while len(self._segs) > 2:
                st._remove(self._fname(self._segs.pop(0)))
            return
        with open(st._path(self._fname(self._segs[-1])), "ab") as f:
            f.write(frame)
            _sync(f)
        self._count += 1

    def entries(self):
        """All kept entries, oldest first (str entries come back as str, bytes as bytes)."""
        if self._segs is None:
            self._scan()
        out = []
        for n in self._segs:
            try:
                raw = self.store._read(self._fname(n))
            except OSError:
                continue
            out += _parse(raw)[0]
        return out


def _parse(raw):
    """(entries, length of the valid prefix) of one log segment."""
    out = []
    i = 0
    while i + _FRAME_LEN <= len(raw):
        n, typ, crc = struct.unpack(_FRAME, raw[i:i + _FRAME_LEN])
        j = i + _FRAME_LEN + n
        if j > len(raw) or typ > 1:
            break
        payload = bytes(raw[i + _FRAME_LEN:j])
        if _crc(payload, _crc(bytes((typ,)))) != crc:
            break
        out.append(payload.decode() if typ else payload)
        i = j
    return out, i


class Counter:
    """A durable monotonic counter (e.g. a replay-protection high-water mark), 64-bit unsigned."""

    def __init__(self, store, name):
        self.store = store
        self.stem = "C." + name
        r = store._load(self.stem)
        self.value = 0 if r is None else _u64(r[1], name)

    def advance_to(self, v):
        """Set the counter to v >= value (equal is a no-op); going backwards raises Reject."""
        if not isinstance(v, int) or v < 0 or v > 0xFFFFFFFFFFFFFFFF:
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


def _u64(b, name):
    if len(b) != 8:
        raise Reject("store-corrupt", None, "counter %s: length %d" % (name, len(b)))
    return struct.unpack(">Q", b)[0]


def _sync(f):
    f.flush()
    if hasattr(os, "fsync"):  # CPython: make the bytes durable before the rename
        os.fsync(f.fileno())


def _sync_dir(path):
    if hasattr(os, "O_DIRECTORY"):  # CPython on POSIX: make the rename itself durable
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
