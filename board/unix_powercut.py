"""In-process power-cut campaign for the durable store on littlefs2 (docs/storage.md).

Runs under the MicroPython unix port (VfsLfs2 on board.flash.NorFlash over a RAM image): a
deterministic write workload (record puts, log appends, counter advances) is applied one step at a
time; for every step and every write index n (0, 1, ... until the step completes) a copy of the
image is mounted, power is cut after n program/erase operations (clean, and torn: the next
operation half applied), the copy is remounted ("reboot"), Store.boot() runs and every record,
counter and log is checked against the model: the step's target must read back old or new, all
others unchanged; never torn, missing, defaulted or refused. Results feed docs/storage.md.
Used by tests/host/test_powercut.py (bounded) and bench/bench_powercut.py (full).
"""
import gc
import vfs

from board.flash import NorFlash, blank
from firmware.store.durable import Store

_MP = "/pcut"
_ROOT = _MP + "/state"
_LOG_MAX = 8
_BS = [4096]  # block size of the current run


def workload(steps, seed=1, big=3000):
    """A deterministic list of operations: ("put", name, bytes) / ("del", name, None) /
    ("log", name, str) / ("ctr", name, int)."""
    x = seed
    ops = []
    ctr = {"cra": 0, "utrn": 0}
    for i in range(steps):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        kind = x % 10
        if kind == 4 and (x >> 8) % 4 == 0:
            ops.append(("del", ("tariff", "credit", "mode", "keys", "big")[(x >> 10) % 5], None))
        elif kind < 5:
            name = ("tariff", "credit", "mode", "keys", "big")[(x >> 8) % 5]
            n = (x >> 12) % 200 if name != "big" else big + (x >> 12) % big
            ops.append(("put", name, bytes(((i + j) & 0xFF) for j in range(n))))
        elif kind < 8:
            ops.append(("log", ("security", "audit")[(x >> 8) & 1], "step %d %s" % (i, "x" * ((x >> 9) % 40))))
        else:
            name = ("cra", "utrn")[(x >> 8) & 1]
            ctr[name] += 1 + (x >> 10) % 1000
            ops.append(("ctr", name, ctr[name]))
    return ops


def _apply(store, op):
    kind, name, val = op
    if kind == "put":
        store.put(name, val)
    elif kind == "del":
        store.delete(name)
    elif kind == "log":
        store.log(name, _LOG_MAX).append(val)
    else:
        store.counter(name).advance_to(val)


def _mount(img, cut_after=None, torn=True):
    dev = NorFlash(img, _BS[0], cut_after=cut_after, torn=torn)
    vfs.mount(vfs.VfsLfs2(dev), _MP)
    return dev


def _umount():
    vfs.umount(_MP)


class Model:
    def __init__(self):
        self.rec = {}
        self.logs = {}
        self.ctr = {}

    def apply(self, op):
        kind, name, val = op
        if kind in ("put", "del"):
            self.rec[name] = val
        elif kind == "log":
            self.logs.setdefault(name, []).append(val)
        else:
            self.ctr[name] = val

    def check(self, store, op):
        """List of violations after a cut during `op` (old or new allowed for its target only)."""
        bad = []
        kind, tname, tval = op
        for name in ("tariff", "credit", "mode", "keys", "big"):
            ok = [self.rec.get(name)]
            if kind in ("put", "del") and name == tname:
                ok.append(tval)
            try:
                got = store.get(name)
            except Exception as e:  # a refusal is a violation too; report it, keep checking
                bad.append("record %s: %r" % (name, e))
                continue
            if got not in ok:
                bad.append("record %s: %r not in old/new" % (name, None if got is None else len(got)))
        for name in ("cra", "utrn"):
            ok = [self.ctr.get(name, 0)]
            if kind == "ctr" and name == tname:
                ok.append(tval)
            try:
                got = store.counter(name).value
            except Exception as e:
                bad.append("counter %s: %r" % (name, e))
                continue
            if got not in ok:
                bad.append("counter %s: %r not in %r" % (name, got, ok))
        for name in ("security", "audit"):
            hist = self.logs.get(name, [])
            hists = [hist]
            if kind == "log" and name == tname:
                hists.append(hist + [tval])
            got = store.log(name, _LOG_MAX).entries()
            if not any(_window_ok(got, h) for h in hists):
                bad.append("log %s: %d entries, not a kept window of the history" % (name, len(got)))
        if store.log("event").entries():
            bad.append("event log not empty: %r" % store.log("event").entries()[:2])
        return bad


def _window_ok(got, hist):
    """got must be the newest k entries of hist, k >= what rotation guarantees to keep."""
    k = len(got)
    if k > _LOG_MAX or k > len(hist):
        return False
    if k < min(len(hist), _LOG_MAX // 2):
        return False
    return got == hist[len(hist) - k:]


def run(steps=100, seed=1, torn_modes=(False, True), block_count=32, progress=None, start=0,
        block_size=4096,
        store_cls=Store):
    """Run the campaign; returns (cut points tried, list of violation strings, steps done).

    `start` skips the cut sweep (not the writes) for the first steps, so a bounded run can
    look at a later part of the workload cheaply. `store_cls` lets a test run a deliberately
    unsafe Store subclass to show the campaign detects violations.
    """
    _BS[0] = block_size
    img = blank(block_size, block_count)
    vfs.VfsLfs2.mkfs(NorFlash(img, block_size))
    _mount(img)
    Store(_ROOT).boot()
    _umount()
    model = Model()
    cuts = 0
    violations = []
    ops = workload(steps, seed, block_size * 3 // 4)
    work = bytearray(len(img))  # scratch copy, reused (no per-cut allocation of the image)
    for i in range(len(ops)):
        op = ops[i]
        done = False
        if i < start:
            work[:] = img
            _mount(work)
            _apply(store_cls(_ROOT), op)
            _umount()
            done = True
        n = 0
        while not done:
            for torn in torn_modes:
                work[:] = img
                dev = _mount(work, n, torn)
                try:
                    _apply(store_cls(_ROOT), op)
                    done = True
                except OSError:
                    if not dev.dead:
                        raise
                _umount()
                if done:
                    break
                cuts += 1
                try:  # reboot from the image as the cut left it
                    _mount(work)
                except OSError as e:
                    violations.append("step %d cut %d torn %s: mount failed %r" % (i, n, torn, e))
                    continue
                try:
                    s = store_cls(_ROOT)
                    for fname, problem in s.boot():
                        if problem not in ("stale tmp", "extra log segment"):
                            violations.append("step %d cut %d: boot repaired %s %s" % (i, n, fname, problem))
                    for v in model.check(s, op):
                        violations.append("step %d cut %d torn %s: %s" % (i, n, torn, v))
                except Exception as e:  # the board must always boot: any failure is a violation
                    violations.append("step %d cut %d torn %s: boot raised %r" % (i, n, torn, e))
                _umount()

            n += 1
        img, work = work, img
        gc.collect()
        model.apply(op)
        if progress:
            progress(i, cuts, len(violations))
    return cuts, violations, len(ops)


def main(steps=60, seed=1, start=0, show=20, store_cls=Store):
    """Run and print the violations and the summary line `@@POWERCUT steps= cut_points= violations=`."""
    c, v, s = run(steps, seed, start=start, store_cls=store_cls)
    for line in v[:show]:
        print(line)
    print("@@POWERCUT steps=%d cut_points=%d violations=%d" % (s, c, len(v)))
    return len(v)
