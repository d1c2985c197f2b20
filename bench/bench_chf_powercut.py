"""Full power-cut campaign over CHF Device Log changes (firmware/hub/devicelog.py; docs/hub.md
"Power cuts").

Runs tests/unit/test_hub_powercut.py's campaign in one MicroPython unix-port process: littlefs2 on the
simulated NOR flash, a power cut (clean and torn) at every program/erase operation of every step of a
scripted hub life (adds to a full log, joins, removals overwriting the historic log, historic-key
re-adds, restore, unknown joiners, alert delivery), reboot and check (the hub boots; its state is
the state before or after the step; the CS14 queue matches the log). Prints cut points and
violations; exit status 1 unless violations = 0 and cut points >= 2000.
Usage: .venv/bin/python bench/bench_chf_powercut.py [rounds (default 5)]
"""
import sys

import devicerun


def main():
    rounds = devicerun.arg(1, 5)
    r = devicerun.campaign("import test_hub_powercut as t\nt.main(%d, show=50)" % rounds, "CHF_POWERCUT")
    if r is None:
        return 1
    print("bench_chf_powercut: " + "%(steps)d steps, cut points %(cut_points)d (clean + torn), violations %(violations)d, %(seconds).1f s" % r)
    return 1 if r["violations"] or r["cut_points"] < 2000 else 0


if __name__ == "__main__":
    sys.exit(main())
