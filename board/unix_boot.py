"""The virtual board's "ROM": what the ESP32 port's C start-up does, for the unix port (docs/virtual-board.md).

Started by host_tools.boards.vboard as `micropython -X heapsize=… -i board/unix_boot.py` with the board
directory in $SMLAB_VBOARD. It opens the UART ptys named in board.json, arms a one-shot power cut
if the file `cut` exists ("N" or "N clean": cut after N flash program/erase operations, tearing
operation N+1 unless "clean"), reads the simulation settings `sim.json` (virtual clock, consumer
load; board/unix.py), mounts the littlefs2 flash image at "/" through board.flash.NorFlash
(formatting it only if it is blank: a non-blank image that does not mount is left alone and the
board stays at the REPL without a file system), then runs /boot.py and /main.py
from flash and leaves the REPL (-i) to mpremote. See docs/virtual-board.md.
"""
import os
import sys


def _parent(p):
    i = p.rfind("/")
    return p[:i] if i > 0 else "/"


ROOT = _parent(_parent(__file__)) if __file__.startswith("/") else _parent(_parent(os.getcwd() + "/" + __file__))
sys.path.insert(0, ROOT)

import json  # noqa: E402
import termios  # noqa: E402
import vfs  # noqa: E402

from firmware.compat import const  # noqa: E402

import board  # noqa: E402,F401
from board import unix  # noqa: E402
from board.flash import READSIZE, NorFlash  # noqa: E402
import board.hal  # noqa: E402,F401
import firmware.alerts  # noqa: E402,F401  (the ROM's modules stay loaded after "/" changes)


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def _blank(f, n):
    f.seek(0)
    b = f.read(n)
    return b == b"\xff" * len(b)


def _qstr_pool():
    """Grow MicroPython's interned-string (qstr) pool now, on a clean heap. On an ESP32 the
    firmware's names are frozen in flash; here every .mpy interns its names at import, and the pool
    grows by doubling: at 1260 names it needs one contiguous 12.8 KB block, at 2540 one of 25.6 KB,
    which a heap fragmented by the running application no longer has (the import that crosses it
    fails with MemoryError although hundreds of KB are free). The application interns about 1,400
    names, so placeholder names are interned here until both growths have happened (each seen as
    one large allocation): about 15 KB of names on a virtual board's heap, and the application's
    names all fit in the 2,560-entry pool."""
    import gc

    o = object()
    grown = 0
    last = gc.mem_alloc()
    for i in range(4000):
        getattr(o, "_q%d" % i, None)  # interns the name
        now = gc.mem_alloc()
        if now - last > 10000:
            grown += 1
            if grown == 2:
                return i
        last = now
    return None


def _verify(events):
    """A board flashed from a prebuilt image (host_tools/boards/image.py) checks every file the
    image's /.hashes lists ("<sha256 hex> <path>" lines) on its first boot: "verified N files" or
    the first "hash mismatch <path>" goes to flash-events.log. True when all match."""
    import hashlib
    import binascii

    buf = bytearray(1024)
    mv = memoryview(buf)
    n = 0
    try:
        with open("/.hashes") as f:
            for ln in f:
                want, path = ln.split()
                d = hashlib.sha256()
                with open(path, "rb") as g:
                    while True:
                        k = g.readinto(buf)
                        if not k:
                            break
                        d.update(mv[:k])
                if binascii.hexlify(d.digest()).decode() != want:
                    events.write("hash mismatch %s\n" % path)
                    return False
                n += 1
    except (OSError, ValueError) as e:
        events.write("verify failed %r\n" % (e,))
        return False
    events.write("verified %d files\n" % n)
    return True


_ISIG = const(1)  # termios c_lflag ISIG (Linux); MicroPython's termios names no flags


def _console_signal_off():
    """While the firmware runs, a Ctrl-C on the console is a byte its board.wait turns into
    KeyboardInterrupt between two polls (board/unix.py), as an ESP32 raises it between bytecodes:
    the unix port's SIGINT handler raises wherever its C code is, and one landing while a name was
    interned left the name pool's lock held (the REPL that followed hung). The console keeps ISIG
    for any other main.py; returns the attributes to restore when main.py ends."""
    try:
        attr = termios.tcgetattr(0)
    except OSError:  # stdin is not a tty (a board run by hand with a pipe): nothing to change
        return None
    saved = [x if not isinstance(x, list) else list(x) for x in attr]
    attr[3] &= ~_ISIG
    termios.tcsetattr(0, termios.TCSANOW, attr)
    return saved


def main():
    _qstr_pool()
    bdir = os.getenv("SMLAB_VBOARD")
    with open(bdir + "/board.json") as f:
        cfg = json.load(f)
    if _exists(bdir + "/sim.json"):  # virtual clock and load (smlab sim clock|load), kept across boots
        with open(bdir + "/sim.json") as f:
            cfg["sim"] = json.load(f)
    if _exists(bdir + "/radio.json"):  # the HAN radio's air (host_tools/han/air.py configure_board)
        with open(bdir + "/radio.json") as f:
            cfg["radio"] = json.load(f)
    if _exists(bdir + "/wan.json"):  # a hub's WAN endpoint {"host", "port"} (smlab sim start --role chf)
        with open(bdir + "/wan.json") as f:
            cfg["wan"] = json.load(f)
    streams = {}
    for name, path in cfg.get("uarts", {}).items():
        streams[name] = unix.PtyStream(path)
    cut_after = None
    torn = True
    if _exists(bdir + "/cut"):
        with open(bdir + "/cut") as f:
            words = f.read().split()
        os.remove(bdir + "/cut")
        cut_after = int(words[0])
        torn = not (len(words) > 1 and words[1] == "clean")
    events = open(bdir + "/flash-events.log", "a")
    verify = _exists(bdir + "/verify")  # (host paths are out of reach once "/" is the flash)
    if verify:
        os.remove(bdir + "/verify")

    def on_cut(dev):
        events.write("power cut after %d writes%s\n" % (dev.writes, " (torn)" if dev.torn else ""))
        events.close()
        os.system("kill -KILL $PPID")  # the power is off: nothing else runs
        while True:
            pass

    img = open(cfg["image"], "r+b")
    dev = NorFlash(img, cfg.get("block_size", 4096), cut_after=cut_after, torn=torn, on_cut=on_cut)
    if cut_after is not None:
        events.write("armed: cut after %d writes%s\n" % (cut_after, "" if torn else " (clean)"))
    events.write("boot\n")
    events.flush()
    vfs.umount("/")
    rs = cfg.get("lfs_readsize", READSIZE)  # board.json may set it (bench/bench_wan_latency.py compares)
    try:
        vfs.mount(vfs.VfsLfs2(dev, readsize=rs), "/")
    except OSError as e:
        if not _blank(img, 2 * dev.bs):
            # never format over a flash that holds something: that would silently reset all
            # device state to factory defaults. Stay at the REPL without a file system.
            print("flash: mount failed (%r) and the image is not blank: not formatting" % (e,))
            events.write("mount failed: %r\n" % (e,))
            events.flush()
            return
        vfs.VfsLfs2.mkfs(dev, readsize=rs)  # blank flash: format it, as the ESP32 port does on first boot
        vfs.mount(vfs.VfsLfs2(dev, readsize=rs), "/")
    os.chdir("/")
    sys.path[:] = ["", "/lib", ".frozen"]
    # The ROM's own modules (board, board.hal/unix/flash, firmware.alerts/compat) stay loaded like
    # frozen modules; every other firmware/board module is imported from the flash.
    import firmware

    firmware.__path__ = "/firmware"
    board.__path__ = "/board"
    b = unix.install(cfg, streams)
    b.flash = dev  # live power-cut arming: board.get().flash.cut_after = board.get().flash.writes + n
    boot_no = os.getenv("SMLAB_VBOARD_BOOT") or "?"
    if verify:  # flashed from a prebuilt image: check its files first
        ok = _verify(events)
        events.flush()
        if not ok:  # a damaged image runs nothing: the board stays at the REPL with the reason
            return
    for name in ("boot.py", "main.py"):
        if _exists("/" + name):
            if name == "main.py":  # lets the host see a board whose main.py never returns as up
                events.write("boot %s: main.py running\n" % boot_no)
                events.flush()
            with open("/" + name) as f:
                code = f.read()
            # the firmware's application loop reads Ctrl-C itself (host_tools/boards/flash.py MAIN_PY)
            saved = _console_signal_off() if name == "main.py" and "from firmware import app" in code else None
            try:
                exec(code, {"__name__": "__main__"})
            except KeyboardInterrupt:
                print("%s interrupted" % name)
                break
            except Exception as e:  # a failing main.py leaves the board at the REPL, as on ESP32
                sys.print_exception(e)
            finally:
                if saved is not None:
                    termios.tcsetattr(0, termios.TCSANOW, saved)


main()
