"""Comb tables of trusted keys kept in files (see verifykey.VerifyKey(pub, path=...)): build once,
reuse while the tag file names the same key and width and the table's CRC-32 matches. The builder
(combbuild.py) is imported only when a table must be (re)written.
"""
import os
from firmware.alerts import Reject
from firmware.crypto.comb import CombTable


def file_table(path, pub, x, y, w):
    """Open (or build, then open) the comb table file for key `pub` at `path`.

    `path + ".key"` holds key || w || CRC-32 of the table; the table is used only when the tag
    names this key and width and the file's size and CRC match, so a truncated, corrupted or
    foreign table (e.g. a power cut between writing a table and its tag) is rebuilt."""
    tag = pub + bytes((w,))
    nbytes = (256 // w + 1) * (1 << (w - 1)) * 64
    try:
        with open(path + ".key", "rb") as f:
            got = f.read()
        ok = len(got) == len(tag) + 4 and got[:len(tag)] == tag and os.stat(path)[6] == nbytes
        ok = ok and _file_crc(path) == int.from_bytes(got[len(tag):], "big")
    except OSError:
        ok = False
    if not ok:
        from firmware.crypto.combbuild import write_table

        with open(path + ".key", "wb") as f:  # no valid tag while the table is being rewritten
            f.write(b"")
        crc = write_table(path, x, y, w)
        with open(path + ".key", "wb") as f:
            f.write(tag + crc.to_bytes(4, "big"))
        if os.stat(path)[6] != nbytes:
            raise Reject("format", None, "comb table file has the wrong size")
    return CombTable(w, path=path)


def _file_crc(path):
    from binascii import crc32

    buf = bytearray(1024)
    mv = memoryview(buf)
    crc = 0
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                return crc
            crc = crc32(mv[:n], crc)

