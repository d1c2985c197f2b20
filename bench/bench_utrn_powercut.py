"""Full exactly-once power-cut campaign for UTRN / configuration-code acceptance (single use:
shared/reference/gbcs.md §9.5).

Runs tests/unit/test_utrn_powercut.py's campaign in one MicroPython unix-port process: littlefs2 on the
simulated NOR flash, a power cut (clean and torn) at every program/erase operation of every step of a
scripted device life, reboot and check (state before-or-after only, balance = acknowledged credits
(+ the step's own at most), re-entry refused as duplicate iff applied, lockout never reset).
Prints cut points and violations; exit status 1 unless violations = 0 and cut points >= 2000.
Usage: .venv/bin/python bench/bench_utrn_powercut.py [rounds (default 16)]
"""
import sys

import devicerun


def main():
    rounds = devicerun.arg(1, 16)
    r = devicerun.campaign("import test_utrn_powercut as t\nt.main(%d, show=50)" % rounds, "UTRN_POWERCUT")
    if r is None:
        return 1
    print("bench_utrn_powercut: " + "%(steps)d steps, cut points %(cut_points)d (clean + torn), violations %(violations)d, "
          "credited %(credited)d p, %(seconds).1f s" % r)
    return 1 if r["violations"] or r["cut_points"] < 2000 else 0


if __name__ == "__main__":
    sys.exit(main())
