"""Board HAL (board/hal.py, board/unix.py detached board) and the NOR flash device (board/flash.py).

Runs under CPython and the MicroPython unix port.
"""
import os
from binascii import hexlify

import _t
import board
from board import hal, unix
from board.flash import NorFlash, blank
from firmware.alerts import Reject


def _tmpdir():
    return "/tmp/smlab-board-" + hexlify(os.urandom(6)).decode()


def _rm(p):
    for n in os.listdir(p):
        os.remove(p + "/" + n)
    os.rmdir(p)


def test_flash_erase_sets_ff_and_program_ands_bits():
    img = bytearray(512 * 4)
    d = NorFlash(img, 512)
    assert d.ioctl(4, 0) == 4 and d.ioctl(5, 0) == 512
    assert d.ioctl(6, 1) == 0
    assert img[512:1024] == b"\xff" * 512 and img[0] == 0 and img[1024] == 0
    assert d.writeblocks(1, b"\xf0\x0f", 10) == 0
    assert d.writeblocks(1, b"\x3c\xff", 10) == 0  # programming cannot set bits back to 1
    assert img[512 + 10:512 + 12] == b"\x30\x0f"
    buf = bytearray(2)
    assert d.readblocks(1, buf, 10) == 0 and buf == b"\x30\x0f"
    assert d.writes == 3


def test_flash_simple_interface_erases_then_programs():
    img = blank(512, 4)
    d = NorFlash(img, 512)
    d.writeblocks(2, b"\x00" * 512)
    d.writeblocks(2, b"\x5a" * 512)  # no offset: erase first, so the new bytes land exactly
    assert img[1024:1536] == b"\x5a" * 512 and d.writes == 4


def test_flash_power_cut_tears_one_write_then_dead():
    img = blank(512, 4)
    cuts = []
    d = NorFlash(img, 512, cut_after=2, torn=True, on_cut=cuts.append)
    assert d.writeblocks(0, b"\x00" * 8, 0) == 0
    assert d.writeblocks(0, b"\x00" * 8, 8) == 0
    assert d.writeblocks(0, b"\x00" * 8, 16) == -5  # write 3: half of it reaches the flash
    assert img[16:24] == b"\x00" * 4 + b"\xff" * 4
    assert d.dead and cuts == [d]
    assert d.writeblocks(0, b"\x00" * 8, 24) == -5 and img[24:32] == b"\xff" * 8
    assert d.readblocks(0, bytearray(4)) == -5 and d.ioctl(6, 1) == -5
    assert len(cuts) == 1 and d.writes == 2


def test_flash_clean_cut_and_torn_erase():
    img = bytearray(512 * 2)
    d = NorFlash(img, 512, cut_after=0, torn=False)
    assert d.ioctl(6, 0) == -5 and img[:512] == b"\x00" * 512  # nothing happened
    d = NorFlash(img, 512, cut_after=0, torn=True)
    assert d.ioctl(6, 0) == -5 and img[:256] == b"\xff" * 256 and img[256:512] == b"\x00" * 256


def test_flash_image_file_reads_into_the_callers_buffer():
    # the virtual board's flash: an image file; littlefs hands readblocks its own buffer
    path = _tmpdir() + ".img"
    with open(path, "wb") as f:
        f.write(b"\xff" * 2048)
    try:
        with open(path, "r+b") as f:
            d = NorFlash(f, 512)
            assert d.writeblocks(2, b"\x12\x34\x56", 100) == 0
            buf = bytearray(5)
            assert d.readblocks(2, buf, 99) == 0 and buf == b"\xff\x12\x34\x56\xff"
            whole = bytearray(512)
            assert d.readblocks(3, whole) == 0 and whole == b"\xff" * 512
        with open(path, "rb") as f:
            assert f.read()[1024 + 100:1024 + 103] == b"\x12\x34\x56"
    finally:
        os.remove(path)


def test_flash_rejects_small_image():
    _t.raises(ValueError, NorFlash, bytearray(512), 512)


def test_detached_board_uarts_and_bad_name():
    b = unix.Board(root=_tmpdir())
    opt = b.uart("optical")
    assert b.uart("optical") is opt and opt.any() == 0 and opt.read(5) is None
    opt.feed(b"/?!\r\n")
    assert opt.any() == 5 and opt.read(3) == b"/?!" and opt.read() == b"\r\n"
    buf = bytearray(4)
    opt.feed(b"ab")
    assert opt.readinto(buf) == 2 and buf[:2] == b"ab" and opt.readinto(buf) is None
    assert opt.write(b"\x06050\r\n") == 6 and opt.take() == b"\x06050\r\n"
    e = _t.raises(Reject, b.uart, "radio")
    assert e.reason == "board-uart"


def test_detached_board_keypad_display_identity_clock():
    b = unix.Board(root=_tmpdir())
    kp = b.keypad()
    assert kp.key() is None and not kp.any()
    kp.stream.feed(b"12#")
    assert kp.any() and kp.key() == "1" and kp.key() == "2" and kp.key() == "#" and kp.key() is None
    b.display("CREDIT 12.34")
    assert b.displayed == ["CREDIT 12.34"]
    assert len(b.eui64()) == 8
    b.set_time(1700000000)
    assert 1700000000 <= b.time() <= 1700000002
    t0 = b.ticks_ms()
    assert isinstance(t0, int)
    b.reset()
    assert b.resets == 1


def test_board_store_on_storage_root():
    root = _tmpdir()
    b = unix.Board(root=root)
    assert b.storage_root() == root
    s = b.store()
    assert b.store() is s and b.boot_report == []
    s.put("x", b"1")
    assert unix.Board(root=root).store().get("x") == b"1"
    _rm(root)


def test_board_get_returns_unix_board_here():
    b = board.get()
    assert board.get() is b
    assert isinstance(b, unix.Board)


def test_eui64_from_mac():
    assert hal.eui64_from_mac(b"\x24\x0a\xc4\x01\x02\x03") == b"\x24\x0a\xc4\xff\xfe\x01\x02\x03"
    assert _t.raises(Reject, hal.eui64_from_mac, b"\x01\x02").reason == "board-eui"
