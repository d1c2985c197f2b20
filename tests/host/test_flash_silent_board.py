"""A board that goes silent never hangs the host: every mpremote read on a board's REPL is bounded
and ends in a FlashError naming the port (a pty stands in for the board's UART; a thread on its
master side plays a board that stops answering at a chosen point of the raw-REPL exchange)."""
import os
import threading
import time
import tty

import pytest

from host_tools.boards import flash

BANNER = b"raw REPL; CTRL-B to exit\r\n>"


class FakeBoard:
    """Answers the raw-REPL entry, then (answer_paste=False) ignores raw-paste requests."""

    def __init__(self, answer_repl=True, answer_paste=False):
        self.m, s = os.openpty()
        tty.setraw(s)
        self.name = os.ttyname(s)
        self.s = s
        self.answer_repl, self.answer_paste = answer_repl, answer_paste
        self.stop = False
        self.heard = b""
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        import select

        while not self.stop:
            r, _, _ = select.select([self.m], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(self.m, 1024)
            except OSError:
                return
            self.heard += data
            if b"\x01" in data and self.answer_repl and b"\x05" not in data:
                os.write(self.m, BANNER)
            if b"\x05A\x01" in data and self.answer_paste:
                os.write(self.m, b"R\x01")  # raw paste accepted; the window header never follows

    def close(self):
        self.stop = True
        self.th.join(2)
        os.close(self.m)
        os.close(self.s)


@pytest.fixture
def board():
    made = []

    def make(**kw):
        b = FakeBoard(**kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


def test_board_that_never_enters_raw_repl(board):
    b = board(answer_repl=False)
    t0 = time.monotonic()
    with pytest.raises(flash.FlashError) as e:
        flash.RawRepl(b.name, read_timeout=0.3, connect_timeout=0.5)
    took = time.monotonic() - t0
    assert b.name in str(e.value) and "cannot connect" in str(e.value)
    assert took < flash.CONNECT_TRIES * 2.0  # three bounded tries, not a wait forever
    assert b.heard.count(b"\x03") == flash.CONNECT_TRIES  # each try interrupted the board again


def test_board_silent_after_raw_paste_request(board):
    # the hang seen on CI: raw REPL entered, raw paste accepted, then the board says nothing more
    # (mpremote's read of the window size had no timeout)
    b = board(answer_repl=True, answer_paste=True)
    brd = flash.RawRepl(b.name, read_timeout=0.3, connect_timeout=2.0)
    t0 = time.monotonic()
    try:
        with pytest.raises(flash.FlashError) as e:
            brd.exec("print(1)")
    finally:
        brd.drop()
    assert time.monotonic() - t0 < 3.0
    assert "raw-paste" in str(e.value)
    assert b.name in str(e.value)


def test_flash_many_reports_the_silent_board(board):
    b = board(answer_repl=True, answer_paste=True)
    res, err = flash.flash_many([b.name], [("/x.py", b"x = 1\n")], verify=False,
                                board_kw={"read_timeout": 0.3, "connect_timeout": 2.0})
    assert res == {} and list(err) == [b.name] and b.name in err[b.name]
