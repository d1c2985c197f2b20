"""Board hardware abstraction (interface documented in board/hal.py).

`board.get()` returns the Board for the running platform: board.esp32 on an ESP32, otherwise
board.unix (a virtual board when started by host_tools.boards.vboard, else a detached in-memory board).
"""
_board = None


def get():
    """The Board object of this platform (created once)."""
    global _board
    if _board is None:
        import sys

        if sys.platform == "esp32":
            from board import esp32

            _board = esp32.Board()
        else:
            from board import unix

            _board = unix.current()
    return _board


def set(b):  # noqa: A001  (board.set: install a Board, used by the virtual board's ROM and tests)
    """Install `b` as the Board returned by get() (the virtual board's ROM does this at start)."""
    global _board
    _board = b
