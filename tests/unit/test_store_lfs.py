"""The durable store on littlefs2 (VfsLfs2 on board.flash.NorFlash), as on an ESP32.

MicroPython only (CPython has no littlefs): skipped under pytest. Includes a small power-cut
sweep; the full campaigns are tests/host/test_powercut.py and bench/bench_powercut.py.
"""
import _t

# The simulated flash image lives in the heap here (20 KB, twice during the sweep); on a device the
# flash is not heap. The Store itself runs at the default 96K in test_store.py.
MP_HEAPSIZE = "256K"


def _vfs():
    try:
        import vfs

        return vfs
    except ImportError:
        _t.skip("littlefs2 (vfs.VfsLfs2) exists only under MicroPython")


def _fresh(vfs, img, mp="/lfst"):
    from board.flash import NorFlash

    try:
        vfs.umount(mp)
    except OSError:
        pass
    dev = NorFlash(img, 512)
    vfs.mount(vfs.VfsLfs2(dev), mp)
    return dev


def test_store_roundtrip_on_littlefs():
    vfs = _vfs()
    from board.flash import NorFlash, blank
    from firmware.store.durable import Store

    img = blank(512, 40)
    vfs.VfsLfs2.mkfs(NorFlash(img, 512))
    _fresh(vfs, img)
    s = Store("/lfst/state")
    s.put("a", b"x" * 300)
    s.log("security", 4).append("hello")
    s.counter("c").advance_to(3)
    vfs.umount("/lfst")
    _fresh(vfs, img)
    s = Store("/lfst/state")
    assert s.boot() == []
    assert s.get("a") == b"x" * 300 and s.log("security", 4).entries() == ["hello"]
    assert s.counter("c").value == 3
    vfs.umount("/lfst")


def test_store_readable_across_read_sizes():
    # host-built images use littlefs's read size 32; the virtual board mounts with board.flash.READSIZE:
    # the read size is not part of the on-flash format, either side reads what the other wrote
    vfs = _vfs()
    from board.flash import READSIZE, NorFlash, blank
    from firmware.store.durable import Store

    img = blank(512, 40)
    vfs.VfsLfs2.mkfs(NorFlash(img, 512), readsize=32)
    for i, rs in enumerate((32, READSIZE, 32)):
        vfs.mount(vfs.VfsLfs2(NorFlash(img, 512), readsize=rs), "/lfsr")
        s = Store("/lfsr/state")
        for j in range(i):
            assert s.get("r%d" % j) == bytes([j]) * 100, (rs, j)
        s.put("r%d" % i, bytes([i]) * 100)
        vfs.umount("/lfsr")


def test_small_power_cut_sweep_on_littlefs():
    _vfs()
    from board import unix_powercut as powercut

    cuts, bad, steps = powercut.run(8, block_size=512, block_count=40)
    assert steps == 8 and cuts >= 40, cuts
    assert bad == [], bad[:3]
