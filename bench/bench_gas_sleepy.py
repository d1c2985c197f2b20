"""Sleepy GSME timing (docs/gas.md "Sleepy GSME"): the RTDS GSME and GPF in process on one virtual
clock (host_tools/gbcs/gas_premises.py), the GSME waking every 30 min (virtual) and talking to its GPF
in ZSE Tunneling frames over an in-memory medium (firmware/gas/sleepy.py). Per cycle a command for
the GSME (GCS13a, host-MAC'd, fresh counter) is queued at the GPF at a random point of the interval
and a GPF read (GCS13a to the GPF) is sent at the same moment. Checks, over >= 100 wakes:
  * the queued command's latency (virtual time from queueing to the GSME's PUT of its verified
    response) equals the wait for the GSME's next wake, every time;
  * the GPF read is answered at once (same virtual instant), verified, stamped with the GSME clock
    time of the last wake's mirror report;
and prints the awake time per wake (wall time of the wake's HAN session in this process: tunnel,
mirror report, fetch, the GSME's processing, PUT), p50 / p99 / max, and frames per wake.
Exit status 1 on any mismatch or fewer than 100 wakes.
Usage: .venv/bin/python bench/bench_gas_sleepy.py [wakes (default 120)]
"""
import os
import random
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

INTERVAL = 1800


def run(wakes=120, seed=14, workdir=None):
    """(latency mismatches, read mismatches, [latency s], [awake s], wakes seen, frames)."""
    from firmware.gbcs import frame
    from host_tools.gbcs.gas_premises import GPF, GSME, InProcessPremises

    d = workdir or tempfile.mkdtemp(prefix="gas_sleepy_")
    p = InProcessPremises(d)
    rng = random.Random(seed)
    p.advance(1)  # the first wake (at start): mirror reported, next wake scheduled
    bad_lat = bad_read = 0
    lat = []
    seen = 1
    ctr = 5000
    while seen < wakes:
        nxt = p.next_wake()
        assert nxt - p.clock.t == INTERVAL or seen == 1, (nxt, p.clock.t)
        q = p.clock.t + rng.randrange(1, nxt - p.clock.t)
        p.advance(q - p.clock.t, step=INTERVAL)
        ctr += 1
        n_out = len(p.out)
        t_q = p.clock.t
        raw = p.queue_for_gsme("GCS13a_4.1.1_SUCCESS_UNRELIABLE_COMMAND_GBCS.HEX", ctr)
        expect = p.next_wake() - t_q
        rraw, rsp = p.read_gpf("GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX", ctr)
        ok, why, r = p.verify(rraw, rsp, GPF)
        stamp = p.gpf.gas.st["mt"][0]
        if not ok or r is None or frame.parse(rsp).date_time[:8] != _dt(stamp)[:8]:
            bad_read += 1
        w = p.advance(p.next_wake() - p.clock.t)
        seen += len(w)
        got = [(t, m) for t, m in p.out[n_out:] if frame.parse(m).counter == ctr]
        if len(got) != 1 or not p.verify(raw, got[0][1], GSME)[0]:
            bad_lat += 1
            continue
        lat.append(got[0][0] - t_q)
        if got[0][0] - t_q != expect:
            bad_lat += 1
    return bad_lat, bad_read, lat, p.awake, seen, p.frames


def _dt(t2000):
    from firmware.hub.alerts import dlms_datetime

    return dlms_datetime(t2000 + 946684800)


def _pct(xs, q):
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0


def main():
    wakes = int(sys.argv[1]) if len(sys.argv) > 1 else 120
    bad_lat, bad_read, lat, awake, seen, frames = run(wakes)
    print("bench_gas_sleepy: %d wakes (every %d s virtual), %d queued commands, latency = wait for the next "
          "wake: %d mismatches (latency min %d s, mean %.0f s, max %d s virtual); GPF reads answered at once "
          "from the mirror: %d mismatches" % (seen, INTERVAL, len(lat), bad_lat, min(lat), sum(lat) / len(lat),
                                              max(lat), bad_read))
    print("bench_gas_sleepy: awake time per wake (in process, wall): p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
          "%.1f ZCL frames per wake" % (_pct(awake, .5) * 1e3, _pct(awake, .99) * 1e3, max(awake) * 1e3,
                                        frames / max(1, len(awake))))
    return 1 if bad_lat or bad_read or seen < 100 else 0


if __name__ == "__main__":
    sys.exit(main())
