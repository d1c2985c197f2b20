"""Virtual board: the MicroPython unix port run as an ESP32-like board.

One supervisor process per board directory holds pseudo-terminal pairs that stay open across
micropython restarts and relays them: `<dir>/console` is the REPL (stock mpremote:
`mpremote connect <dir>/console resume exec ...`), `<dir>/optical` the optical UART and
`<dir>/keypad` the keypad (pyserial on the host side). The flash is the littlefs2 image
`<dir>/flash.img`, mounted at "/" by the ROM board/unix_boot.py through board.flash.NorFlash;
boot.py/main.py run from it. Reset (SIGHUP to the supervisor, `vboard reset`) restarts micropython
keeping the image; a power cut (`vboard cut DIR N`) kills it after N flash writes, tearing one.
The keypad and display: keys typed on the keypad pty; the firmware prints display lines to the
console as `[display] TEXT` (type_keys, display_lines, reset_to_app).
Docs: docs/virtual-board.md. CLI: python -m host_tools.boards.vboard {start,stop,reset,cut,status,wait,exec}.
"""
import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time

from host_tools.boards.build import venv_bin

from host_tools.util import ROOT, write_atomic
ROM = os.path.join(ROOT, "board", "unix_boot.py")
UARTS = ("optical", "keypad", "sim")  # sim: `sim <json>` lines (virtual clock, load)
DISPLAY = "[display] "


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie counts as dead
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class VBoard:
    """Host-side handle of one virtual board living in directory `path`."""

    def __init__(self, path, flash_kb=2048, heap="512K", eui64=None):
        self.path = os.path.abspath(path)
        self.flash_kb = flash_kb
        self.heap = heap
        self.eui64 = eui64 or "00000000000000%02x" % (sum(self.path.encode()) & 0xFF)

    # -- paths --------------------------------------------------------------------------------
    @property
    def console(self):
        return os.path.join(self.path, "console")

    @property
    def optical(self):
        return os.path.join(self.path, "optical")

    @property
    def keypad(self):
        return os.path.join(self.path, "keypad")

    @property
    def image(self):
        return os.path.join(self.path, "flash.img")

    def status(self):
        try:
            with open(os.path.join(self.path, "status.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def running(self):
        st = self.status()
        return bool(st.get("supervisor")) and st.get("state") != "stopped" and _pid_alive(st["supervisor"])

    def state(self):
        """stopped, starting, booting, repl (at the REPL prompt) or running (the firmware's main
        loop runs: main.py started on this boot and the board is not at a prompt)."""
        if not self.running():
            return "stopped"
        st = self.status()
        state = st.get("state", "stopped")
        if state == "booting" and self._main_running(st.get("boots", 0)):
            return "running"
        return state

    # -- life cycle -----------------------------------------------------------------------------
    def start(self, timeout=30, watch_pid=None):
        """Start the supervisor (detached) and wait until the board's REPL prompt appears."""
        if self.running():
            return self
        os.makedirs(self.path, exist_ok=True)
        for stale in ("status.json", "cut"):
            if os.path.exists(os.path.join(self.path, stale)):
                os.remove(os.path.join(self.path, stale))
        cmd = [sys.executable, "-m", "host_tools.boards.vboard", "_supervise", self.path,
               "--flash-kb", str(self.flash_kb), "--heap", self.heap, "--eui64", self.eui64]
        if watch_pid:
            cmd += ["--watch-pid", str(watch_pid)]
        env = dict(os.environ)
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        with open(os.path.join(self.path, "supervisor.log"), "ab") as log:
            subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.path,
                             env=env, start_new_session=True)
        self.wait_ready(1, timeout)
        return self

    def wait_ready(self, boots=1, timeout=30, main_running=True):
        """Wait until boot number >= `boots` is up; returns the status.

        Up = at the REPL prompt, or (main_running) running a main.py that may never return (a
        firmware main loop; mpremote's Ctrl-C interrupts it).
        """
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            st = self.status()
            if st.get("boots", 0) >= boots and st.get("state") == "repl":
                return st
            if main_running and st.get("boots", 0) >= boots and self._main_running(st["boots"]):
                return st
            if st.get("state") == "stopped":
                break
            time.sleep(0.05)
        raise TimeoutError("virtual board %s not at the REPL (boot %d): %r\n%s"
                           % (self.path, boots, self.status(), self.console_log()[-2000:]))

    def _main_running(self, boot):
        try:
            with open(os.path.join(self.path, "flash-events.log")) as f:
                return ("boot %d: main.py running\n" % boot) in f.read()
        except OSError:
            return False

    def _signal(self, sig):
        st = self.status()
        if not st.get("supervisor") or not _pid_alive(st["supervisor"]):
            raise RuntimeError("virtual board %s is not running" % self.path)
        os.kill(st["supervisor"], sig)
        return st

    def reset(self, wait=True, timeout=30, repl=False):
        """Restart micropython from the flash image (like pressing the reset button).

        wait: until the new boot is up (see wait_ready); repl=True: until it is at the REPL.
        """
        st = self._signal(signal.SIGHUP)
        if wait:
            return self.wait_ready(st.get("boots", 0) + 1, timeout, main_running=not repl)
        return None

    def cut(self, n, torn=True, wait=True, timeout=30, repl=False):
        """Arm a power cut after `n` flash writes counted from the next boot, then reset.

        When the cut happens the process dies and the supervisor boots the board again from the
        image as the cut left it. Returns the status after the reset (the cut comes later, when
        the firmware has done n writes; see power_cuts()).
        """
        with open(os.path.join(self.path, "cut"), "w") as f:
            f.write("%d%s\n" % (n, "" if torn else " clean"))
        return self.reset(wait, timeout, repl)

    def arm(self, n, torn=True):
        """Arm a power cut on the running board: after `n` more flash writes from now.

        Uses mpremote (board.get().flash); the cut then comes from whatever writes next (e.g. an
        mpremote exec that writes a file) and the board reboots from the image.
        """
        self.exec("import board\nf = board.get().flash\nf.torn = %r\nf.cut_after = f.writes + %d" % (torn, n))

    def power_cuts(self):
        """Lines of flash-events.log that record a power cut."""
        try:
            with open(os.path.join(self.path, "flash-events.log")) as f:
                return [ln.strip() for ln in f if ln.startswith("power cut")]
        except OSError:
            return []

    def stop(self, timeout=10):
        """Stop micropython and the supervisor (the image and logs stay)."""
        st = self.status()
        pid = st.get("supervisor")
        if not pid or not _pid_alive(pid):
            return
        os.kill(pid, signal.SIGTERM)
        t0 = time.monotonic()
        while _pid_alive(pid) and time.monotonic() - t0 < timeout:
            time.sleep(0.02)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        mp = st.get("micropython")
        if mp and _pid_alive(mp):
            os.kill(mp, signal.SIGKILL)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    # -- convenience ---------------------------------------------------------------------------
    def console_log(self):
        try:
            with open(os.path.join(self.path, "console.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def mpremote(self, *args, timeout=60, check=True):
        """Run stock mpremote against the console: mpremote connect <console> resume <args...>."""
        cmd = [venv_bin("mpremote"), "connect", self.console, "resume"] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.path)
        if check and p.returncode != 0:
            raise RuntimeError("mpremote %s failed (%d): %s%s" % (args, p.returncode, p.stdout, p.stderr))
        return p.stdout

    def exec(self, code, timeout=60):
        return self.mpremote("exec", code, timeout=timeout)

    # -- keypad and display ----------------------------------------------------------------------
    def log_size(self):
        log = os.path.join(self.path, "console.log")
        return os.path.getsize(log) if os.path.exists(log) else 0

    def display_lines(self, offset=0):
        """Display lines the firmware printed after console-log byte `offset`."""
        with open(os.path.join(self.path, "console.log"), "rb") as f:
            f.seek(offset)
            data = f.read().decode(errors="replace")
        return [ln[len(DISPLAY):].strip() for ln in data.splitlines() if ln.startswith(DISPLAY)]

    def reset_to_app(self, timeout=60.0):
        """Reset and wait until the firmware shows READY (or NOT PROVISIONED): it polls its keys."""
        offset = self.log_size()
        self.reset()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.display_lines(offset)
            if any(ln.startswith(("READY", "NOT PROVISIONED")) for ln in lines):
                return lines
            time.sleep(0.01)
        raise TimeoutError("%s: firmware not READY %.0f s after reset" % (self.path, timeout))

    def type_keys(self, keys, timeout=10.0, expect=1):
        """Type keys on the keypad; return the display lines printed (waits for `expect` lines)."""
        from host_tools.util import open_serial

        offset = self.log_size()
        with open_serial(self.keypad, 9600, timeout=1, iec=False) as ser:
            ser.write(keys.encode())
            ser.flush()
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            lines = self.display_lines(offset)
            if len(lines) >= expect:
                return lines
            time.sleep(0.005)
        return lines


# ---------------------------------------------------------------------------------------------
# supervisor (runs in its own process: python -m host_tools.boards.vboard _supervise DIR)


def _openpty_raw(isig=False):
    """A pty pair in raw mode; isig: Ctrl-C (only) raises SIGINT in the foreground process."""
    import termios
    import tty

    m, s = os.openpty()
    tty.setraw(s)
    attr = termios.tcgetattr(s)
    attr[3] &= ~termios.ECHO
    if isig:
        attr[3] |= termios.ISIG
        attr[6][termios.VINTR] = 3
        attr[6][termios.VQUIT] = 0  # disabled: only Ctrl-C is a signal key
        attr[6][termios.VSUSP] = 0
    termios.tcsetattr(s, termios.TCSANOW, attr)
    os.set_blocking(m, False)
    return m, s, os.ttyname(s)


class Supervisor:
    def __init__(self, path, flash_kb, heap, eui64, watch_pid=None):
        self.path = path
        self.heap = heap
        self.watch_pid = watch_pid
        self.boots = 0
        self.state = "starting"
        self.proc = None
        self.stopping = False
        self.want_reset = False
        self.seen = b""
        self.quick_exits = 0
        img = os.path.join(path, "flash.img")
        if not os.path.exists(img):
            with open(img, "wb") as f:
                f.write(b"\xff" * (flash_kb * 1024))
        # console: board side (micropython's stdio) <-> host side (mpremote)
        self.cb_m, self.cb_s, self.cb_name = _openpty_raw(isig=True)
        import termios

        self.cb_attr = termios.tcgetattr(self.cb_s)
        self.ch_m, self.ch_s, ch_name = _openpty_raw()
        self.raw_attr = termios.tcgetattr(self.ch_s)
        self.keep_raw = [self.ch_s]  # host sides: a client may leave ECHO on, which would loop
        self.pairs = {self.cb_m: self.ch_m, self.ch_m: self.cb_m}
        self.links = {"console": ch_name}
        uarts = {}
        for name in UARTS:
            bm, bs, bname = _openpty_raw()
            hm, hs, hname = _openpty_raw()
            self.keep_raw.append(hs)
            self.pairs[bm] = hm
            self.pairs[hm] = bm
            uarts[name] = bname
            self.links[name] = hname
        for name, target in self.links.items():
            link = os.path.join(path, name)
            if os.path.lexists(link):
                os.remove(link)
            os.symlink(target, link)
        cfg = {"image": img, "block_size": 4096, "uarts": uarts, "eui64": eui64,
               "storage_root": "/state", "dir": path}
        with open(os.path.join(path, "board.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        self.console_log = open(os.path.join(path, "console.log"), "ab")

    def write_status(self):
        st = {"supervisor": os.getpid(), "micropython": self.proc.pid if self.proc else None,
              "boots": self.boots, "state": self.state, "links": self.links}
        write_atomic(os.path.join(self.path, "status.json"), json.dumps(st), sync=False)

    def spawn(self):
        import fcntl
        import termios

        termios.tcflush(self.ch_s, termios.TCIFLUSH)  # stale output of the previous boot
        termios.tcflush(self.cb_s, termios.TCIFLUSH)
        # a killed REPL leaves its raw mode (no ISIG) on the pty: restore the power-on settings
        termios.tcsetattr(self.cb_s, termios.TCSANOW, self.cb_attr)
        for fd in self.keep_raw:  # output back into the board as input
            termios.tcsetattr(fd, termios.TCSANOW, self.raw_attr)
        slave = self.cb_name

        def pre():
            os.setsid()
            fd = os.open(slave, os.O_RDWR)
            fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
            os.close(fd)

        env = dict(os.environ)
        env["SMLAB_VBOARD"] = self.path
        env["SMLAB_VBOARD_BOOT"] = str(self.boots + 1)
        self.seen = b""
        self.boots += 1
        self.state = "booting"
        self.proc = subprocess.Popen([venv_bin("micropython"), "-X", "heapsize=" + self.heap, "-i", ROM],
                                     stdin=self.cb_s, stdout=self.cb_s, stderr=self.cb_s, cwd=self.path,
                                     env=env, preexec_fn=pre, close_fds=True)
        self.started = time.monotonic()
        self.console_log.write(b"\n--- boot %d ---\n" % self.boots)
        self.write_status()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def run(self):
        signal.signal(signal.SIGTERM, lambda *a: setattr(self, "stopping", True))
        signal.signal(signal.SIGHUP, lambda *a: setattr(self, "want_reset", True))
        signal.signal(signal.SIGINT, lambda *a: setattr(self, "stopping", True))
        self.spawn()
        fds = list(self.pairs)
        try:
            while not self.stopping:
                try:
                    r, _, _ = select.select(fds, [], [], 0.05)
                except InterruptedError:
                    r = []
                for fd in r:
                    self.relay(fd)
                if self.watch_pid and not _pid_alive(self.watch_pid):
                    break
                requested = False
                if self.want_reset:
                    self.want_reset = False
                    requested = True  # a reset asked for is not a crash
                    self.kill()
                if self.proc.poll() is not None and not self.stopping:
                    self.drain()
                    fast = not requested and time.monotonic() - self.started < 1.0
                    self.quick_exits = self.quick_exits + 1 if fast else 0
                    if self.quick_exits > 5:
                        time.sleep(1.0)  # crash loop: do not spin
                    self.spawn()
        finally:
            self.kill()
            self.state = "stopped"
            self.write_status()

    def drain(self):
        for _ in range(20):
            r, _, _ = select.select([self.cb_m], [], [], 0)
            if not r:
                return
            self.relay(self.cb_m)

    def relay(self, fd):
        try:
            data = os.read(fd, 4096)
        except (BlockingIOError, OSError):
            return
        if not data:
            return
        if fd == self.cb_m:
            self.console_log.write(data)
            self.console_log.flush()
            if self.state != "repl":
                self.seen = (self.seen + data)[-64:]
                if b">>> " in self.seen or b"raw REPL" in self.seen:
                    self.state = "repl"
                    self.write_status()
        try:
            os.write(self.pairs[fd], data)
        except BlockingIOError:
            pass  # nobody reads that side and its queue is full: the bytes are lost, as on a wire


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.boards.vboard", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="ACTION")
    helps = {"start": "start the board in DIR (created on first start); prints its ports",
             "stop": "stop the board (its flash image and logs stay)",
             "reset": "restart the board from its flash image, like its reset button",
             "status": "print the board's status (JSON)",
             "wait": "wait until the board is up again (at its prompt or running its firmware)",
             "cut": "arm a power cut after N flash writes from the next boot, then reset",
             "exec": "run MicroPython code on the board through mpremote and print its output",
             "_supervise": "the supervisor process `start` launches (not for direct use)"}
    for name in ("start", "stop", "reset", "status", "wait", "cut", "exec", "_supervise"):
        p = sub.add_parser(name, help=helps[name])
        p.add_argument("dir", help="the board's folder (image, ptys, logs)")
        if name in ("start", "_supervise"):
            p.add_argument("--flash-kb", type=int, default=512, help="flash image size in KB (default 512)")
            p.add_argument("--heap", default="512K", help="MicroPython heap (default 512K)")
            p.add_argument("--eui64", default=None, help="the board's EUI-64 (16 hex digits)")
            p.add_argument("--watch-pid", type=int, default=None,
                           help="stop the board when this process ends")
        if name == "cut":
            p.add_argument("writes", type=int, help="flash writes before the power cut")
            p.add_argument("--clean", action="store_true", help="no torn write, just stop")
        if name == "exec":
            p.add_argument("code", help="MicroPython source to run")
            p.add_argument("--no-follow", action="store_true",
                           help="do not wait for output (for code that resets or power-cuts the board)")
    a = ap.parse_args(argv)
    if a.cmd == "_supervise":
        Supervisor(os.path.abspath(a.dir), a.flash_kb, a.heap, a.eui64, a.watch_pid).run()
        return 0
    b = VBoard(a.dir, **({"flash_kb": a.flash_kb, "heap": a.heap, "eui64": a.eui64} if a.cmd == "start" else {}))
    if a.cmd == "start":
        b.start(watch_pid=a.watch_pid)
        print("console %s\noptical %s\nkeypad  %s\nimage   %s" % (b.console, b.optical, b.keypad, b.image))
    elif a.cmd == "stop":
        b.stop()
    elif a.cmd == "reset":
        print(json.dumps(b.reset()))
    elif a.cmd == "wait":
        print(json.dumps(b.wait_ready(b.status().get("boots", 1))))
    elif a.cmd == "cut":
        b.cut(a.writes, torn=not a.clean)
        print("armed: power cut after %d flash writes from this boot" % a.writes)
    elif a.cmd == "status":
        print(json.dumps(b.status()))
    elif a.cmd == "exec":
        sys.stdout.write(b.mpremote("exec", "--no-follow", a.code) if a.no_follow else b.exec(a.code))
    return 0


if __name__ == "__main__":
    sys.exit(main())
