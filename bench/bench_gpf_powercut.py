"""Full power-cut campaign over the Gas Proxy Function's queue and mirror (firmware/roles/gpf.py,
firmware/gas/gpf.py; docs/gas.md "Power cuts").

Runs tests/unit/test_gpf_powercut.py's campaign in one MicroPython unix-port process: littlefs2 on
the simulated NOR flash, a power cut (clean and torn) at every program/erase operation of every step
of a scripted GPF life (messages queued for the GSME, mirror reports, GPF reads and a GCS59 restore
through the command gate, GET / taken / PUT with a tap-off, expiry, removal), reboot and check (the
GPF boots; its state is the state before or after the step, or the command burned; a message queued
is never lost or duplicated; a tap-off lands exactly with its dequeue; nothing runs twice). Prints
cut points and violations; exit status 1 unless violations = 0 and cut points >= 2000.
Usage: .venv/bin/python bench/bench_gpf_powercut.py [rounds (default 10)]
"""
import sys

import devicerun


def main():
    rounds = devicerun.arg(1, 10)
    r = devicerun.campaign("import test_gpf_powercut as t\nt.main(%d, show=50)" % rounds, "GPF_POWERCUT")
    if r is None:
        return 1
    print("bench_gpf_powercut: " + "%(steps)d steps, cut points %(cut_points)d (clean + torn), violations %(violations)d, %(seconds).1f s" % r)
    return 1 if r["violations"] or r["cut_points"] < 2000 else 0


if __name__ == "__main__":
    sys.exit(main())
