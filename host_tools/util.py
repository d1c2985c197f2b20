"""Small helpers shared by the whole host library: the repository root, EUI-64 parsing, whole-file
writes, private-file placement checks and opening serial ports (real or virtual)."""
import os
import tempfile

from host_tools.errors import UsageError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def smlab_home(path=None):
    """The folder where smlab keeps virtual boards, key stores, credentials and reports: `path`,
    else $SMLAB_HOME, else $XDG_DATA_HOME/smlab, else ~/.local/share/smlab. Absolute, so every
    folder a command runs from finds the same boards."""
    if not path:
        path = os.environ.get("SMLAB_HOME")
    if not path:
        data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
        path = os.path.join(data, "smlab")
    return os.path.abspath(os.path.expanduser(path))


def parse_eui(value, what="EUI-64", lookup=False):
    """8 bytes from 16 hex digits (str) or from 8 bytes; UsageError naming `what` otherwise.
    lookup=True: any whole bytes of hex are accepted (an EUI only looked up, e.g. a supplier in a
    key store, where a wrong one is reported as not found)."""
    if isinstance(value, (bytes, bytearray)):
        b = bytes(value)
    else:
        try:
            b = bytes.fromhex(value)
        except (TypeError, ValueError):
            b = b""
    if lookup and b:
        return b
    if len(b) != 8:
        raise UsageError("%s must be 16 hex digits (an EUI-64): %r" % (what, value))
    return b


def write_atomic(path, data, sync=True):
    """Write `path` whole or not at all: a uniquely named temporary file in the same folder
    (fsync'd unless sync=False), then renamed over `path`. The name is unique per writer, so
    parallel threads or processes writing one file never rename each other's half-written file.
    `data` is bytes or str (written as UTF-8)."""
    if isinstance(data, str):
        data = data.encode()
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".",
                               prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def git_work_tree(path):
    """The git work tree containing `path` (a folder or a file to be), or None."""
    d = os.path.abspath(path)
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def ignore_all(folder):
    """Make git ignore everything in `folder` (a key store, a credential folder): writes a
    .gitignore holding `*` unless one exists."""
    gi = os.path.join(folder, ".gitignore")
    if not os.path.exists(gi):
        write_atomic(gi, "# private keys: never commit this folder\n*\n")


def git_ignored(path):
    """True when git would not add `path`: a folder above it (inside the work tree) holds a
    .gitignore of `*`, or `git check-ignore` says so."""
    tree = git_work_tree(path)
    if tree is None:
        return False
    d = os.path.dirname(os.path.abspath(path))
    while True:
        try:
            with open(os.path.join(d, ".gitignore")) as f:
                if "*" in [ln.strip() for ln in f]:
                    return True
        except OSError:
            pass
        if d == tree or os.path.dirname(d) == d:
            break
        d = os.path.dirname(d)
    import subprocess

    try:
        r = subprocess.run(["git", "-C", tree, "check-ignore", "-q", os.path.abspath(path)],
                           capture_output=True, timeout=10)
        return r.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def private_path_warning(path):
    """A one-line warning when `path` (a file holding a private key, or a key store folder) is
    inside a git work tree, else None; it says whether git ignores it."""
    probe = os.path.join(path, "private.key") if os.path.isdir(path) else path
    tree = git_work_tree(probe)
    if tree is None:
        return None
    if git_ignored(probe):
        return "private key(s) in %s, inside the git work tree %s (ignored by git)" % (path, tree)
    return "private key in %s, inside the git work tree %s: `git add` would commit it" % (path, tree)


def is_pty(port):
    """True for a pseudo-terminal (a virtual board's port, or a link to one)."""
    return os.path.realpath(port).startswith("/dev/pts/")


def open_serial(port, baudrate=300, timeout=0.2, iec=True):
    """Open a board's serial port with pyserial.

    iec=True (an optical port): a real port starts at 300 Bd 7E1 as IEC 62056-21 mode C requires.
    A pseudo-terminal (a virtual board) is opened 8N1 because a pty carries no parity bits and
    Linux refuses CS7/PARENB on ptys (EINVAL); the meter reads 7-bit characters either way. The
    same fallback applies to a port that refuses 7E1. iec=False: 8N1 at `baudrate` (a keypad or
    a plain UART). Links (a virtual board's `optical`, `keypad`) are followed."""
    import serial
    import termios

    if "://" in port:  # a pyserial URL (socket://, rfc2217://, loop://)
        return serial.serial_for_url(port, baudrate, timeout=timeout)
    real = os.path.realpath(port)
    if not iec or is_pty(port):
        return serial.Serial(real, baudrate, timeout=timeout)
    try:
        return serial.Serial(real, baudrate, bytesize=serial.SEVENBITS, parity=serial.PARITY_EVEN,
                             stopbits=serial.STOPBITS_ONE, timeout=timeout)
    except termios.error:
        return serial.Serial(real, baudrate, timeout=timeout)
