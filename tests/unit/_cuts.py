"""Power-cut sweeps shared by the campaigns tests/unit/test_*_powercut.py: littlefs2 (vfs.VfsLfs2,
MicroPython only) on board.flash.NorFlash in RAM, a cut at every program/erase operation of a step
(clean and torn; fault model of shared/reference/micropython.md §4.2), then a reboot and the
campaign's own checks.

    fl = Flash("/mp", block_size, blocks)
    img = fl.blank()                                  # erased and formatted
    fl.mount(img); ...provision...; fl.umount()
    cuts, bad = sweep(fl, img, steps, reference, attempt, check)
    report("TAG", len(steps), cuts, bad, show)        # the @@TAG line bench/devicerun.py reads

For each step: reference(i, step) runs it uncut on a mounted copy of the image and returns
(ctx, violations); then for n = 0, 1, ... the step runs again on a fresh copy that dies after n
operations: attempt(i, step, ctx) completing (returning its own violations) ends the step, a cut
(OSError from the dead flash) is a cut point, after which the copy is mounted again (the reboot)
and check(i, step, ctx, where) returns what is wrong with the state it finds. A device that does
not mount or whose check raises is a violation. The next step starts from the reference image.
"""
import _t


class Flash:
    def __init__(self, mp, block_size, blocks):
        self.mp, self.bs, self.blocks = mp, block_size, blocks

    def blank(self):
        """The erased, formatted image; the sweep's two scratch images are allocated with it, while
        the heap is still unfragmented, and reused for every cut."""
        import vfs
        from board.flash import NorFlash

        img = bytearray(self.bs * self.blocks)
        self.work = bytearray(len(img))
        self.ref = bytearray(len(img))
        ff = b"\xff" * self.bs
        for o in range(0, len(img), self.bs):
            img[o:o + self.bs] = ff
        vfs.VfsLfs2.mkfs(NorFlash(img, self.bs))
        return img

    def mount(self, img, cut_after=None, torn=True):
        import vfs
        from board.flash import NorFlash

        try:
            vfs.umount(self.mp)
        except OSError:  # nothing mounted there: the usual case
            pass
        dev = NorFlash(img, self.bs, cut_after=cut_after, torn=torn)
        vfs.mount(vfs.VfsLfs2(dev), self.mp)
        return dev

    def umount(self):
        import vfs

        vfs.umount(self.mp)


def sweep(fl, img, steps, reference, attempt, check, torn_modes=(False, True), progress=None,
          max_cuts=None):
    """Returns (cut points, violations); see the module docstring. img ends as the last step left it."""
    work, ref_img = fl.work, fl.ref
    cuts = 0
    bad = []
    for i in range(len(steps)):
        step = steps[i]
        work[:] = img
        fl.mount(work)
        ctx, problems = reference(i, step)
        fl.umount()
        bad += problems
        ref_img[:] = work
        n = 0
        done = False
        while not done and (max_cuts is None or cuts < max_cuts):
            for torn in torn_modes:
                work[:] = img
                dev = fl.mount(work, n, torn)
                try:
                    bad += attempt(i, step, ctx)
                    done = True
                except OSError:
                    if not dev.dead:
                        raise
                fl.umount()
                if done:
                    break
                cuts += 1
                where = "step %d (%s) cut %d%s: " % (i, step[0], n, " torn" if torn else "")
                bad += _reboot(fl, work, where, i, step, ctx, check)
            n += 1
        img[:] = ref_img
        if progress:
            progress(i, cuts, len(bad))
    return cuts, bad


def boot_and_run(boot, run_step, snap):
    """(reference, attempt) for a device booted by boot() -> (device, state snapshot), stepped by
    run_step(device, step) and observed by snap(device): the reference's context is (before, after)."""
    def reference(i, step):
        dev, before = boot()
        run_step(dev, step)
        return (before, snap(dev)), []

    def attempt(i, step, ctx):
        run_step(boot()[0], step)
        return []

    return reference, attempt


def _reboot(fl, work, where, i, step, ctx, check):
    try:
        fl.mount(work)
    except OSError as e:
        return [where + "mount failed %r" % e]
    try:
        out = check(i, step, ctx, where)
    except Exception as e:  # the device must always boot and converge: anything else is a violation
        out = [where + "raised %r" % (e,)]
    fl.umount()
    return out


def report(tag, steps, cuts, bad, show=20, extra=()):
    """Print the first `show` violations and the campaign's @@TAG line; returns the violation count."""
    for line in bad[:show]:
        print(line)
    tail = "".join(" %s=%d" % kv for kv in extra)
    print("@@%s steps=%d cut_points=%d violations=%d%s" % (tag, steps, cuts, len(bad), tail))
    return len(bad)


def canon(v):
    """A canonical text of a JSON value, for state snapshots (MicroPython's json has no sort_keys)."""
    if isinstance(v, dict):
        return "{" + ",".join("%r:%s" % (k, canon(v[k])) for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canon(x) for x in v) + "]"
    return repr(v)


def provisioned(fl, root, payload, eui):
    """A blank image of `fl` with the store at `root` provisioned by firmware/provisioning.py."""
    from firmware import provisioning
    from firmware.store.durable import Store

    img = fl.blank()
    fl.mount(img)
    provisioning.apply(Store(root), payload, eui, None)
    fl.umount()
    return img


def need_vfs():
    try:
        import vfs

        return vfs.VfsLfs2
    except (ImportError, AttributeError):
        _t.skip("needs MicroPython littlefs2 (vfs.VfsLfs2); runs under tests/mprun.py")
