"""Simulated NOR flash block devices for littlefs2 (docs/virtual-board.md).

`NorFlash` implements MicroPython's extended block interface (readblocks/writeblocks with an
offset, ioctl 1-6; MicroPython docs "vfs: block devices") over a bytearray (RAM) or an image file
(the virtual board's flash). NOR semantics: erase sets a block to 0xFF, program ANDs bits in.
Power-cut injection: `cut_after=N` lets N program/erase operations complete; operation N+1 is
torn (its first half applied, `torn=True`) or lost, then the device is dead: `on_cut` runs (the
virtual board kills its own process there) and that and every later call returns -EIO, which
littlefs turns into OSError(EIO) for the file operation (returning an error, not raising, keeps
the heap untouched when a file finaliser runs against the dead device).
Fault model from shared/reference/micropython.md §4.2.
"""
from firmware.compat import const

_IOCTL_INIT = const(1)
_IOCTL_DEINIT = const(2)
_IOCTL_SYNC = const(3)
_IOCTL_COUNT = const(4)
_IOCTL_SIZE = const(5)
_IOCTL_ERASE = const(6)


_EIO = const(-5)

# littlefs read granularity the virtual board mounts with (VfsLfs2 readsize; cache = 4 x 512 =
# 2 KB). littlefs's default of 32 reads a metadata block in 128-byte pieces: ~4,300 readblocks
# calls per record write here, each a Python call and two syscalls (an ESP32 reads memory-mapped
# flash in C), which made one durable write ~9 ms. Reads only: the on-flash format (prog size 32,
# block 4096) is unchanged, so host-built images mount as before. Measured by bench/bench_flash_io.py.
READSIZE = const(512)


class NorFlash:
    """NOR flash of `block_count` blocks of `block_size` bytes over a bytearray or image file."""

    def __init__(self, data, block_size=4096, block_count=None, cut_after=None, torn=True,
                 on_cut=None):
        self.bs = block_size
        if isinstance(data, (bytearray, memoryview)):
            self.mem = data
            self.f = None
            size = len(data)
        else:  # an open image file ("r+b")
            self.mem = None
            self.f = data
            data.seek(0, 2)
            size = data.tell()
        self.count = block_count if block_count is not None else size // block_size
        if self.count * block_size > size or self.count < 2:
            raise ValueError("flash image too small")
        self.writes = 0  # program + erase operations done so far
        self.cut_after = cut_after
        self.torn = torn
        self.on_cut = on_cut
        self.dead = False
        # erased-block contents, allocated once: an erase must not need 4 KB of free heap (a real
        # ESP32 erases in the flash driver; a MemoryError here would crash the firmware's write)
        self._ff = memoryview(b"\xff" * block_size)

    # -- raw access -----------------------------------------------------------------------------
    def _get(self, addr, n):
        if self.mem is not None:
            return bytes(self.mem[addr:addr + n])
        self.f.seek(addr)
        return self.f.read(n)

    def _put(self, addr, b):
        if self.mem is not None:
            self.mem[addr:addr + len(b)] = b
        else:
            self.f.seek(addr)
            self.f.write(b)
            self.f.flush()

    def _op(self):
        """Count one program/erase; returns the fraction of it to apply (1 full, 0.5 torn, 0)."""
        if self.dead:
            return 0
        if self.cut_after is not None and self.writes >= self.cut_after:
            self.dead = True
            return 0.5 if self.torn else 0
        self.writes += 1
        return 1

    def _die(self):
        if self.on_cut is not None and self.writes >= 0:
            cb = self.on_cut
            self.on_cut = None
            cb(self)
        return _EIO

    def _program(self, addr, b):
        frac = self._op()
        n = len(b) if frac == 1 else (len(b) // 2 if frac else 0)
        if n:
            old = self._get(addr, n)
            if old == b"\xff" * n:
                self._put(addr, bytes(b[:n]))
            else:
                out = bytearray(old)
                for i in range(n):
                    out[i] &= b[i]
                self._put(addr, out)
        return 0 if frac == 1 else self._die()

    def _erase(self, block):
        frac = self._op()
        n = self.bs if frac == 1 else (self.bs // 2 if frac else 0)
        if n:
            self._put(block * self.bs, self._ff[:n])
        return 0 if frac == 1 else self._die()

    # -- MicroPython block-device protocol ------------------------------------------------------
    def readblocks(self, block, buf, offset=0):
        if self.dead:
            return _EIO
        addr = block * self.bs + offset
        if self.mem is not None:
            buf[:] = memoryview(self.mem)[addr:addr + len(buf)]
        else:  # straight into littlefs's buffer: no bytes object per read (littlefs reads often)
            self.f.seek(addr)
            self.f.readinto(buf)
        return 0

    def writeblocks(self, block, buf, offset=None):
        if offset is None:  # simple interface: whole blocks, erase first
            for i in range(len(buf) // self.bs):
                r = self._erase(block + i) or self._program((block + i) * self.bs,
                                                            buf[i * self.bs:(i + 1) * self.bs])
                if r:
                    return r
            return 0
        return self._program(block * self.bs + offset, buf)

    def ioctl(self, op, arg):
        if op == _IOCTL_COUNT:
            return self.count
        if op == _IOCTL_SIZE:
            return self.bs
        if op == _IOCTL_ERASE:
            return self._erase(arg)
        if op in (_IOCTL_INIT, _IOCTL_DEINIT, _IOCTL_SYNC):
            return 0
        return None


def blank(block_size=4096, block_count=32):
    """A RAM image of erased flash (allocated once: it may be most of a small heap)."""
    img = bytearray(block_size * block_count)
    ff = b"\xff" * 256
    for i in range(0, len(img), 256):
        img[i:i + 256] = ff
    return img
