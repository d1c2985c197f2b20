"""Copy firmware onto boards with the stock mpremote library, then verify every file's SHA-256 on
the board itself.

Works for a real serial port (/dev/ttyUSB0, an ESP32's USB-serial) and for a virtual board's REPL pty
alike: mpremote's SerialTransport, raw REPL entered *without* a soft reset (a soft reset ends the
unix-port process of a virtual board, and on a real board would start main.py mid-copy).
Several boards are flashed in parallel, one thread per board, with a progress callback.
"""
import hashlib
import os
import struct
import threading
import time

from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from host_tools.boards import build
from host_tools.errors import SmlabError

# the device-root script, kept as source: MicroPython runs /main.py as a file at every boot
MAIN_PY = b"from firmware import app\napp.main()\n"


class FlashError(SmlabError):
    """A board could not be flashed or failed verification (message names the board and file)."""


def _real_port(port):
    # mpremote adapts its reads for /dev/pts/* only when it sees that path; virtual boards publish
    # stable symlinks, so hand mpremote the device the link points to
    if port.startswith("/") and os.path.islink(port):
        return os.path.realpath(port)
    return port


def _parents(path):
    parts = path.strip("/").split("/")[:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _last_line(e):
    lines = str(e).strip().splitlines()
    return lines[-1] if lines else type(e).__name__


READ_TIMEOUT_S = 5.0  # longest silence of a board inside one read before the read gives up
CONNECT_TRIES = 3


class RawRepl:
    """One mpremote connection in raw-REPL mode.

    Every read is bounded: pyserial's default (no timeout) makes mpremote's reads on a pty, and
    its raw-paste handshake on any port, wait forever for bytes a board lost or never sent (a
    board rebooting under the host's Ctrl-C). A silent board is a FlashError naming the port."""

    def __init__(self, port, baudrate=115200, read_timeout=READ_TIMEOUT_S, connect_timeout=10.0):
        self.port = port
        self.read_timeout = read_timeout
        err = None
        for _ in range(CONNECT_TRIES):  # a board booting or busy can miss one Ctrl-C / Ctrl-A
            try:
                self.t = SerialTransport(_real_port(port), baudrate=baudrate, timeout=read_timeout)
            except TransportError as e:
                raise FlashError("%s: cannot connect: %s" % (port, e))
            if "://" in port:
                # a network port (a lab board's RFC 2217 URL): read as mpremote reads a pty, one
                # blocking read that returns at the first byte, instead of polling in_waiting
                # every 10 ms (a 10 ms sleep whenever a reply has not arrived yet: a quarter of
                # the flashing time)
                self.t.is_pty = True
            try:
                self.t.enter_raw_repl(soft_reset=False, timeout_overall=connect_timeout)
                return
            except TransportError as e:
                err = e
                self.t.close()
        raise FlashError("%s: cannot connect: %s" % (port, _last_line(err)))

    def close(self):
        try:
            self.t.exit_raw_repl()
        finally:
            self.t.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def drop(self):
        """Close the port without leaving the raw REPL (the board is reset next)."""
        self.t.close()

    def reset_board(self):
        """Start the firmware's reset (board.get().reset()) and close: the reply is not awaited,
        the board may restart before its acknowledgement reaches the host."""
        try:
            self._call(self.t.exec_raw_no_follow, "import board\nboard.get().reset()")
        finally:
            self.t.close()

    def _call(self, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except TransportError as e:  # TransportExecError too: the board raised (e.g. MemoryError)
            raise FlashError("%s: %s" % (self.port, _last_line(e)))
        except struct.error:  # mpremote's raw-paste header cut short: the board went silent
            raise FlashError("%s: no raw-paste answer within %.1f s" % (self.port, self.read_timeout))

    def exec(self, code):
        return self._call(self.t.exec, code)

    def eval(self, expr):
        return self._call(self.t.eval, expr)

    def exists(self, path):
        return self._call(self.t.fs_exists, path)

    def remove(self, path):
        self._call(self.t.fs_rmfile, path)

    def makedirs(self, path):
        for d in _parents(path):
            if not self.exists(d):
                self._call(self.t.fs_mkdir, d)

    def write(self, dest, data, progress=None):
        self.makedirs(dest)
        self._call(self.t.fs_writefile, dest, data, chunk_size=1024, progress_callback=progress)

    def sha256(self, path):
        return self._call(self.t.fs_hashfile, path, "sha256")


def flash_board(port, files, progress=None, verify=True, remove=(), board_kw=None):
    """Write files [(dest_path, bytes)] to one board and verify their hashes on the board.

    progress(port, done_bytes, total_bytes, phase) is called as the copy advances.
    Returns {"port", "files", "bytes", "seconds", "verified"}.
    """
    total = sum(len(d) for _, d in files)
    done = 0
    t0 = time.monotonic()
    with RawRepl(port, **(board_kw or {})) as b:
        for path in remove:
            if b.exists(path):
                b.remove(path)
        for dest, data in files:
            base = done

            def cb(written, size, base=base):
                if progress:
                    progress(port, base + written, total, "copy")

            try:
                b.write(dest, data, cb)
            except FlashError as e:
                raise FlashError("writing %s: %s" % (dest, e))
            except OSError as e:
                raise FlashError("%s: writing %s: %s" % (port, dest, e))
            done += len(data)
        verified = 0
        if verify:
            for dest, data in files:
                got = b.sha256(dest)
                if got != hashlib.sha256(data).digest():
                    raise FlashError("%s: %s hash mismatch after copy" % (port, dest))
                verified += 1
                if progress:
                    progress(port, verified, len(files), "verify")
    return {"port": port, "files": len(files), "bytes": total,
            "seconds": round(time.monotonic() - t0, 3), "verified": verified}


def flash_many(ports, files, progress=None, verify=True, board_kw=None):
    """Flash the same files to several boards in parallel; returns (results, errors) by port."""
    results, errors = {}, {}
    lock = threading.Lock()

    def work(port):
        try:
            r = flash_board(port, files, progress, verify, board_kw=board_kw)
            with lock:
                results[port] = r
        except FlashError as e:
            with lock:
                errors[port] = str(e)

    threads = [threading.Thread(target=work, args=(p,)) for p in ports]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def files_from_dir(top, prefix="/"):
    """[(dest, bytes)] for every file below top, dest relative to the board's flash root."""
    out = []
    for d, dirs, names in os.walk(top):
        dirs.sort()
        for n in sorted(names):
            p = os.path.join(d, n)
            rel = os.path.relpath(p, top).replace(os.sep, "/")
            with open(p, "rb") as f:
                out.append((prefix + rel, f.read()))
    return out


def device_root_files():
    """The files at the board's flash root: /main.py, which starts the firmware at every boot."""
    return [("/main.py", MAIN_PY)]


def firmware_files(target, workdir):
    """[(dest, bytes)] of a whole firmware image for `target`, built into `workdir`."""
    out = os.path.join(workdir, target)
    build.build(target, out)
    return files_from_dir(out) + device_root_files()
