"""Prebuilt littlefs2 flash images for virtual boards: the firmware built once on the host into an
image of the virtual board's geometry, then copied to each board before it boots.

Geometry (board/unix_boot.py mounts the image with vfs.VfsLfs2 over board.flash.NorFlash): block
size 4096 (board.json "block_size"), block count = image size / 4096, and MicroPython's VfsLfs2
defaults read size 32, program size 32, lookahead 32 bytes, names up to 255 bytes, on-disk format
2.0 (mountable by every littlefs 2.x). The image holds the files and `/.hashes`: one line per file,
"<sha256 hex> <path>". A board copied from an image has `<dir>/verify` next to its image: at its
next boot the ROM checks every file against `/.hashes` on the board itself, logs "verified N files"
(or "hash mismatch <path>", and then runs no boot.py/main.py) to flash-events.log and removes the
flag; flash_boards() waits for that line, so a board is flashed only once its own check passed.
"""
import hashlib
import os
import shutil
import time

from host_tools.boards.flash import FlashError

BLOCK = 4096
HASHES = "/.hashes"


def build_image(files, flash_kb, block_size=BLOCK):
    """bytes of a littlefs2 image of flash_kb KB holding files [(dest path, bytes)] + /.hashes."""
    from littlefs import LittleFS

    n = flash_kb * 1024 // block_size
    fs = LittleFS(block_size=block_size, block_count=n, read_size=32, prog_size=32,
                  lookahead_size=32, name_max=255, disk_version=0x00020000)
    made = set()
    lines = []
    for dest, data in files:
        parts = dest.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/" + "/".join(parts[:i])
            if d not in made:
                try:
                    fs.mkdir(d)
                except FileExistsError:
                    pass
                made.add(d)
        with fs.open(dest, "wb") as f:
            f.write(data)
        lines.append("%s %s\n" % (hashlib.sha256(data).hexdigest(), dest))
    with fs.open(HASHES, "w") as f:
        f.write("".join(lines))
    return bytes(fs.context.buffer)


def write_image(path, files, flash_kb):
    """Build the image into the file `path` (written whole, then renamed)."""
    data = build_image(files, flash_kb)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return path


def copy_to(image, board_dir):
    """Put the image in place as the board's flash (the board must not be running) and ask its
    next boot to verify the files' hashes."""
    os.makedirs(board_dir, exist_ok=True)
    dst = os.path.join(board_dir, "flash.img")
    shutil.copyfile(image, dst + ".tmp")
    os.replace(dst + ".tmp", dst)
    with open(os.path.join(board_dir, "verify"), "w") as f:
        f.write("%s\n" % HASHES)
    ev = os.path.join(board_dir, "flash-events.log")
    return os.path.getsize(ev) if os.path.exists(ev) else 0


def verified(board_dir, offset=0):
    """None while the board has not checked its files since `offset` of flash-events.log, else
    (ok, line)."""
    try:
        with open(os.path.join(board_dir, "flash-events.log"), "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    for ln in text.splitlines():
        if ln.startswith("verified "):
            return True, ln
        if ln.startswith("hash mismatch") or ln.startswith("verify failed"):
            return False, ln
    return None


def wait_verified(vbs, offsets, timeout=120):
    """Wait until every board (started after copy_to) reported its hash check; FlashError names
    the first board that failed it or never reported."""
    deadline = time.monotonic() + timeout
    left = dict(zip([vb.path for vb in vbs], offsets))
    out = {}
    while left:
        for path in list(left):
            r = verified(path, left[path])
            if r is not None:
                if not r[0]:
                    raise FlashError("%s: %s" % (path, r[1]))
                out[path] = r[1]
                del left[path]
        if left:
            if time.monotonic() > deadline:
                raise FlashError("%s: no hash check reported within %.0f s" % (sorted(left)[0], timeout))
            time.sleep(0.05)
    return out
