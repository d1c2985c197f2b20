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


def pid_alive(pid):
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
        return bool(st.get("supervisor")) and st.get("state") != "stopped" and pid_alive(st["supervisor"])

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
        if not st.get("supervisor") or not pid_alive(st["supervisor"]):
            raise RuntimeError("virtual board %s is not running" % self.path)
        verb = {signal.SIGHUP: "reset", signal.SIGTERM: "stop"}.get(sig)
        if not (verb and st.get("control") and _request(st["control"], verb, self.path)):
            os.kill(st["supervisor"], sig)  # a supervisor serving this board alone
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
        """Stop micropython and the board's supervisor, or this board only when its supervisor
        serves several (the image and logs stay)."""
        st = self.status()
        pid = st.get("supervisor")
        if not pid or not pid_alive(pid):
            return
        self._close_keypad()
        if not (st.get("control") and _request(st["control"], "stop", self.path)):
            os.kill(pid, signal.SIGTERM)
        t0 = time.monotonic()
        while self.running() and time.monotonic() - t0 < timeout:
            time.sleep(0.02)
        if self.running():
            os.kill(pid, signal.SIGKILL)
        mp = st.get("micropython")
        if mp and pid_alive(mp):
            os.kill(mp, signal.SIGKILL)
        t0 = time.monotonic()  # a supervisor left with no board ends: let it go before returning
        while pid_alive(pid) and time.monotonic() - t0 < 2 and not st.get("shared"):
            time.sleep(0.01)

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
        ready = lambda lines: any(ln.startswith(("READY", "NOT PROVISIONED")) for ln in lines)  # noqa: E731
        sub = self._displays()
        if sub is not None:
            start = sub.count(self.path)
            self.reset()
            lines = sub.wait(self.path, start, ready, timeout)
            if ready(lines):
                return lines
            raise TimeoutError("%s: firmware not READY %.0f s after reset" % (self.path, timeout))
        offset = self.log_size()
        self.reset()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.display_lines(offset)
            if ready(lines):
                return lines
            time.sleep(0.01)
        raise TimeoutError("%s: firmware not READY %.0f s after reset" % (self.path, timeout))

    def type_keys(self, keys, timeout=10.0, expect=1):
        """Type keys on the keypad; return the display lines printed (waits for `expect` lines).

        Event-driven when the supervisor publishes display lines (a datagram per line, received
        by one thread of this process); otherwise by reading console.log."""
        sub = self._displays()
        if sub is not None:
            start = sub.count(self.path)
            self._write_keypad(keys.encode())
            return sub.wait(self.path, start, lambda lines: len(lines) >= expect, timeout)
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

    def _displays(self):
        """The display-line subscription of this board (Displays), or None when its supervisor
        has no control socket (or does not answer)."""
        ctl = self.status().get("control")
        if not ctl or not getattr(self, "display_events", True):
            return None
        d = Displays.get()
        return d if d.subscribe(self.path, ctl) else None

    def _write_keypad(self, data):
        fd = getattr(self, "_kfd", None)
        if fd is None:
            fd = self._kfd = os.open(self.keypad, os.O_WRONLY | os.O_NOCTTY)
        try:
            os.write(fd, data)
        except OSError:  # the pty went away (supervisor restarted): open it again once
            self._close_keypad()
            fd = self._kfd = os.open(self.keypad, os.O_WRONLY | os.O_NOCTTY)
            os.write(fd, data)

    def _close_keypad(self):
        fd = getattr(self, "_kfd", None)
        self._kfd = None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def _request(control, verb, path):
    """Send one request datagram to a supervisor's control socket; False when it is gone."""
    import socket

    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(("%s %s" % (verb, path)).encode(), "\0" + control.lstrip("@"))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Displays:
    """Display lines of virtual boards, pushed by their supervisors: one datagram socket and one
    reader thread per host process; a waiter sleeps on its board's condition until lines come."""

    _one = None
    _mu = None

    @classmethod
    def get(cls):
        import threading

        if cls._mu is None:
            cls._mu = threading.Lock()
        with cls._mu:
            if cls._one is None:
                cls._one = cls()
            return cls._one

    def __init__(self):
        import socket
        import threading

        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0smlab-display-%d-%d" % (os.getpid(), id(self)))
        self.mu = threading.Lock()
        self.cvs = {}  # board dir -> Condition (on self.mu): only that board's waiters wake
        self.lines = {}  # board dir -> display lines received since the subscription
        self.subs = {}  # board dir -> control socket it is subscribed through
        threading.Thread(target=self._read, name="vboard-displays", daemon=True).start()

    def _cv(self, path):
        import threading

        c = self.cvs.get(path)
        if c is None:
            c = self.cvs[path] = threading.Condition(self.mu)
        return c

    def _read(self):
        while True:
            msg = self.sock.recv(65536)
            if msg.startswith(b"ok "):
                path = msg[3:].decode()
                with self.mu:
                    self.subs[path] = self.subs.get(path) or "?"
                    self._cv(path).notify_all()
            elif msg.startswith(b"D"):
                path, _, ln = msg[1:].partition(b"\n")
                path = path.decode()
                text = ln.decode(errors="replace")[len(DISPLAY):].strip()
                with self.mu:
                    self.lines.setdefault(path, []).append(text)
                    self._cv(path).notify_all()

    def subscribe(self, path, control, timeout=5.0):
        with self.mu:
            if self.subs.get(path) == control:
                return True
            self.subs.pop(path, None)
            cv = self._cv(path)
        try:  # from the bound socket: the supervisor answers and publishes to its address
            self.sock.sendto(("sub %s" % path).encode(), "\0" + control.lstrip("@"))
        except OSError:
            return False
        with self.mu:
            cv.wait_for(lambda: path in self.subs, timeout)
            if path not in self.subs:
                return False
            self.subs[path] = control
            return True

    def count(self, path):
        with self.mu:
            return len(self.lines.get(path, ()))

    def wait(self, path, start, done, timeout):
        """Lines after index `start` once done(lines) holds, or what came within timeout."""
        deadline = time.monotonic() + timeout
        with self.mu:
            cv = self._cv(path)
            while True:
                got = self.lines.get(path, [])[start:]
                left = deadline - time.monotonic()
                if done(got) or left <= 0:
                    return list(got)
                cv.wait(left)


def start_many(vbs, timeout=120, watch_pid=None, per_process=0, uarts=UARTS):
    """Start many boards under shared supervisor processes (`per_process` boards each; 0: one
    process for all) and wait until every board is up. Boards already running are left alone.
    uarts: the UART ptys each board gets (default all)."""
    import tempfile

    todo = [vb for vb in vbs if not vb.running()]
    groups = [todo] if not per_process else [todo[i:i + per_process] for i in range(0, len(todo), per_process)]
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    for grp in groups:
        if not grp:
            continue
        for vb in grp:
            os.makedirs(vb.path, exist_ok=True)
            for stale in ("status.json", "cut"):
                if os.path.exists(os.path.join(vb.path, stale)):
                    os.remove(os.path.join(vb.path, stale))
        fd, spec = tempfile.mkstemp(prefix="vboards-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump([[vb.path, vb.flash_kb, vb.heap, vb.eui64, list(uarts)] for vb in grp], f)
        cmd = [sys.executable, "-m", "host_tools.boards.vboard", "_supervise_many", spec]
        if watch_pid:
            cmd += ["--watch-pid", str(watch_pid)]
        with open(os.path.join(grp[0].path, "supervisor.log"), "ab") as log:
            subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=grp[0].path,
                             env=env, start_new_session=True)
    deadline = time.monotonic() + timeout
    for vb in todo:
        vb.wait_ready(1, max(1.0, deadline - time.monotonic()))
    return vbs


def stop_many(vbs, timeout=30):
    """Stop many boards: every stop request is sent first, then each board is waited for."""
    for vb in vbs:
        st = vb.status()
        if st.get("control") and vb.running():
            vb._close_keypad()
            _request(st["control"], "stop", vb.path)
    for vb in vbs:
        vb.stop(timeout)


# ---------------------------------------------------------------------------------------------
# supervisor: one process serves one board (`_supervise DIR`, what start() launches) or many
# (`_supervise_many SPEC`, what start_many() launches). It relays the pty pairs of every board it
# serves, restarts a board's micropython on reset / after it ended, and sleeps in one selector
# (epoll) over all of them: SIGCHLD and the control socket wake it, nothing is polled on a timer.


def _openpty_raw(isig=False):
    """A pty pair in raw mode, without echo; isig: Ctrl-C (only) raises SIGINT in the foreground
    process (the console: a main.py that is not the firmware is interrupted as on an ESP32; the
    ROM turns it off while the firmware runs, board/unix_boot.py)."""
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


OFF_S = 0.05  # seconds a board stays off between its process ending and the next boot
def uarts_wanted(names):
    """The UART ptys a board gets: `names` in UARTS order (a board held idle may go without the
    sim pty: each UART is two of the host's ptys, /proc/sys/kernel/pty/max in all)."""
    return [n for n in UARTS if n in names]


PUB_TIMEOUT_S = 2.0  # a display subscriber that takes no datagram for this long is dropped
CRASH_LOOP = 5  # quick exits (< 1 s after start, not asked for) in a row before restarts slow to 1/s


class Slot:
    """One board served by a supervisor process: its pty pairs, micropython process and status."""

    def __init__(self, sup, path, flash_kb, heap, eui64, uarts=UARTS):
        self.sup = sup
        self.path = path
        self.heap = heap
        self.boots = 0
        self.state = "starting"
        self.proc = None
        self.want_reset = False
        self.want_stop = False
        self.respawn_at = None
        self.started = 0.0
        self.seen = b""
        self.quick_exits = 0
        self.subs = set()  # addresses of display subscribers (VBoard.type_keys event path)
        self.line = b""
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
        self.slaves = [self.cb_s, self.ch_s]
        wanted = uarts_wanted(uarts)
        uarts = {}
        for name in wanted:
            bm, bs, bname = _openpty_raw()
            hm, hs, hname = _openpty_raw()
            self.keep_raw.append(hs)
            self.slaves += [bs, hs]
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
        if self.sup.control:
            st["control"] = self.sup.control
            st["shared"] = self.sup.shared
        write_atomic(os.path.join(self.path, "status.json"), json.dumps(st), sync=False)

    def spawn(self):
        import fcntl
        import termios

        self.respawn_at = None
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
        self.line = b""  # a partial line (a REPL prompt) of the last boot is not a display line
        self.boots += 1
        self.state = "booting"
        self.proc = subprocess.Popen([venv_bin("micropython"), "-X", "heapsize=" + self.heap, "-i", ROM],
                                     stdin=self.cb_s, stdout=self.cb_s, stderr=self.cb_s, cwd=self.path,
                                     env=env, preexec_fn=pre, close_fds=True)
        self.started = time.monotonic()
        self.console_log.write(b"\n--- boot %d ---\n" % self.boots)
        self.console_log.flush()
        self.write_status()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def check(self, now):
        """Act on a reset asked for, a stop asked for, or the process having ended. Returns False
        when the board is stopped (the slot is done)."""
        requested = False
        if self.want_stop:
            self.kill()
            self.drain()
            self.state = "stopped"
            self.write_status()
            self.close()
            return False
        if self.want_reset:
            self.want_reset = False
            requested = True  # a reset asked for is not a crash
            self.kill()
        if self.respawn_at is not None:
            if now >= self.respawn_at:
                self.spawn()
            return True
        if self.proc is not None and self.proc.poll() is not None:
            self.drain()
            fast = not requested and now - self.started < 1.0
            self.quick_exits = self.quick_exits + 1 if fast else 0
            # power off for a moment, as the polling supervisor always had it: a host still
            # reading the last output (an mpremote exec that ended in a cut) gets it before the
            # next boot flushes the console; a crash loop waits a second (it must not spin)
            self.respawn_at = now + (1.0 if self.quick_exits > CRASH_LOOP else OFF_S)
        return True

    def close(self):
        for fd in list(self.pairs) + self.slaves:
            try:
                os.close(fd)
            except OSError:
                pass
        self.console_log.close()

    def drain(self):
        """Relay what the ended process left in its console (the master is non-blocking)."""
        for _ in range(20):
            try:
                data = os.read(self.cb_m, 4096)
            except OSError:  # BlockingIOError: nothing left; EIO: no slave open
                return
            if not data:
                return
            self._console(data)
            try:
                os.write(self.ch_m, data)
            except OSError:
                pass

    def relay(self, fd):
        try:
            data = os.read(fd, 4096)
        except (BlockingIOError, OSError):
            return
        if not data:
            return
        if fd == self.cb_m:
            self._console(data)
        try:
            os.write(self.pairs[fd], data)
        except BlockingIOError:
            pass  # nobody reads that side and its queue is full: the bytes are lost, as on a wire

    def _console(self, data):
        self.console_log.write(data)
        self.console_log.flush()
        if self.state != "repl":
            self.seen = (self.seen + data)[-64:]
            if b">>> " in self.seen or b"raw REPL" in self.seen:
                self.state = "repl"
                self.write_status()
        if self.subs:
            self.publish(data)

    def publish(self, data):
        """Send each display line of the console output to the subscribers (one datagram each)."""
        self.line += data
        if b"\n" not in self.line:
            self.line = self.line[-512:]
            return
        lines = self.line.split(b"\n")
        self.line = lines.pop()
        for ln in lines:
            ln = ln.rstrip(b"\r")
            if ln.startswith(DISPLAY.encode()):
                for addr in list(self.subs):
                    try:  # blocking (bounded): a full receive queue makes the sender wait, never drop
                        self.sup.pub.sendto(b"D" + self.path.encode() + b"\n" + ln, addr)
                    except OSError:  # gone, or stuck for PUB_TIMEOUT_S: unsubscribed
                        self.subs.discard(addr)


class Supervisor:
    """The supervisor process: serves the boards of `specs` [(dir, flash_kb, heap, eui64)].
    Requests come as datagrams on an abstract unix socket named in every board's status
    ("control": reset, stop, display subscription); SIGHUP resets every board it serves (one, when
    start() launched it), SIGTERM stops them all. It ends when its last board stopped."""

    def __init__(self, specs, watch_pid=None):
        import selectors
        import socket

        self.watch_pid = watch_pid
        self.sel = selectors.DefaultSelector()
        self.slots = {}
        self.fdmap = {}
        self.stopping = False
        self.sigchld = False
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        name = "smlab-vboard-%d" % os.getpid()
        self.sock.bind("\0" + name)  # abstract namespace: nothing to clean up
        self.sock.setblocking(False)
        self.sel.register(self.sock, selectors.EVENT_READ, "ctl")
        self.control = "@" + name
        self.pub = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # display lines to subscribers
        self.pub.settimeout(PUB_TIMEOUT_S)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.shared = len(specs) > 1
        for spec in specs:
            s = Slot(self, *spec)
            self.slots[s.path] = s
            for fd in s.pairs:
                self.fdmap[fd] = s
                self.sel.register(fd, selectors.EVENT_READ, None)

    def _stop_all(self, *a):
        self.stopping = True

    def _reset_all(self, *a):
        for s in self.slots.values():
            s.want_reset = True

    def _chld(self, *a):
        self.sigchld = True

    def run(self):
        signal.signal(signal.SIGTERM, self._stop_all)
        signal.signal(signal.SIGINT, self._stop_all)
        signal.signal(signal.SIGHUP, self._reset_all)
        signal.signal(signal.SIGCHLD, self._chld)
        signal.set_wakeup_fd(self.wake_w)
        try:
            for s in self.slots.values():
                s.spawn()
            while self.slots and not self.stopping:
                now = time.monotonic()
                timeout = 1.0  # the watched pid and crash-loop restarts
                for s in self.slots.values():
                    if s.respawn_at is not None:
                        timeout = max(0.0, min(timeout, s.respawn_at - now))
                for key, _ in self.sel.select(timeout):
                    if key.data == "wake":
                        try:
                            while os.read(self.wake_r, 512):
                                pass
                        except OSError:
                            pass
                    elif key.data == "ctl":
                        self.requests()
                    else:
                        s = self.fdmap.get(key.fd)
                        if s is not None:
                            s.relay(key.fd)
                if self.watch_pid and not pid_alive(self.watch_pid):
                    break
                self.service(all_=self.sigchld or any(
                    s.want_reset or s.want_stop or s.respawn_at is not None for s in self.slots.values()))
        finally:
            for s in self.slots.values():
                s.want_stop = True
                s.check(time.monotonic())
            self.slots = {}

    def service(self, all_):
        if not all_:
            return
        self.sigchld = False
        now = time.monotonic()
        for path, s in list(self.slots.items()):
            if not s.check(now):
                for fd in s.pairs:
                    self.fdmap.pop(fd, None)
                del self.slots[path]

    def requests(self):
        """Datagrams: b"reset DIR", b"stop DIR", b"sub DIR" (answered b"ok DIR" to the sender)."""
        while True:
            try:
                msg, addr = self.sock.recvfrom(4096)
            except (BlockingIOError, InterruptedError):
                return
            verb, _, path = msg.decode(errors="replace").partition(" ")
            s = self.slots.get(path)
            if s is None:
                continue
            if verb == "reset":
                s.want_reset = True
            elif verb == "stop":
                s.want_stop = True
                self._unregister(s)
            elif verb == "sub" and addr:
                s.subs.add(addr)
                try:
                    self.sock.sendto(b"ok " + path.encode(), addr)
                except OSError:
                    s.subs.discard(addr)

    def _unregister(self, s):
        for fd in s.pairs:
            if fd in self.fdmap:
                self.fdmap.pop(fd, None)
                try:
                    self.sel.unregister(fd)
                except (KeyError, ValueError):
                    pass


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
             "_supervise": "the supervisor process `start` launches (not for direct use)",
             "_supervise_many": "the supervisor process of many boards (start_many; not for direct use)"}
    for name in ("start", "stop", "reset", "status", "wait", "cut", "exec", "_supervise", "_supervise_many"):
        p = sub.add_parser(name, help=helps[name])
        p.add_argument("dir", help="the board's folder (image, ptys, logs)"
                       if name != "_supervise_many" else "JSON file: [[dir, flash_kb, heap, eui64], ...]")
        if name == "_supervise_many":
            p.add_argument("--watch-pid", type=int, default=None)
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
        Supervisor([(os.path.abspath(a.dir), a.flash_kb, a.heap, a.eui64)], a.watch_pid).run()
        return 0
    if a.cmd == "_supervise_many":
        with open(a.dir) as f:
            specs = json.load(f)
        os.remove(a.dir)
        Supervisor([tuple(x) for x in specs], a.watch_pid).run()
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
