"""Optical port benchmark (docs/optical-port.md): receiver throughput, a readout session and an HHT
login (two P-256 verifies on the firmware crypto) on this interpreter; the same script runs under
the MicroPython unix port (`.venv/bin/micropython -X heapsize=512K bench/bench_optical.py`). Prints numbers, asserts
nothing about time."""
import os
import sys

sys.path.insert(0, os.getcwd())
sys.path.insert(0, os.getcwd() + "/tests/unit")

try:
    from time import ticks_ms, ticks_diff
except ImportError:
    import time

    def ticks_ms():
        return int(time.perf_counter() * 1000)

    def ticks_diff(a, b):
        return a - b

import test_optical_support as S  # noqa: E402
from firmware.optical import iec  # noqa: E402


def bench_receiver():
    frames = b"".join(iec.command("R1", "1.8.%d()" % (i % 10)) for i in range(500))
    rx = iec.Receiver()
    t0 = ticks_ms()
    n = 0
    for b in frames:
        if rx.feed(b, 0) is not None:
            n += 1
    dt = max(1, ticks_diff(ticks_ms(), t0))
    print("receiver: %d frames, %d bytes in %d ms (%d kB/s)" % (n, len(frames), dt,
                                                                  len(frames) // dt))


def bench_sessions():
    m = S.Meter()
    try:
        t0 = ticks_ms()
        for _ in range(20):
            m.talk(iec.request(), settle=25)
            m.talk(iec.option_select("0", "5", "0"), settle=25)
        print("20 readout sessions (with store audit writes): %d ms" % ticks_diff(ticks_ms(), t0))
        nonce = S.challenge_of(m.sign_on_prog())
        ans = S.p2_answer(nonce)  # host-side signing, not timed
        import binascii

        frame = iec.command("P2", "(" + binascii.hexlify(ans).decode() + ")")
        t0 = ticks_ms()
        out = m.talk(frame, settle=25)
        assert out == bytes((iec.ACK,)), out
        print("login (certificate + login signature verify): %d ms" % ticks_diff(ticks_ms(), t0))
    finally:
        m.close()


bench_receiver()
bench_sessions()
