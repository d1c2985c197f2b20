"""Full power-cut campaign for consumption accounting, prepayment and future-dated activations
(firmware/meter/engine.py; docs/metering.md "Power cuts").

Runs tests/unit/test_meter_powercut.py's campaign in one MicroPython unix-port process: littlefs2 on
the simulated NOR flash, a power cut (clean and torn) at every program/erase operation of every step
of a scripted prepayment life, reboot and check (registers and charges never go backwards and are
before-or-after only, credit accepted once, the step repeated converges to the uncut reference state:
alert queue, supply, payment mode; each future-dated activation runs once). Prints cut points and
violations; exit status 1 unless violations = 0 and cut points >= 2000.
Usage: .venv/bin/python bench/bench_meter_powercut.py [rounds (default 3)]
"""
import sys

import devicerun


def main():
    rounds = devicerun.arg(1, 3)
    r = devicerun.campaign("import test_meter_powercut as t\nt.main(%d, show=50)" % rounds, "METER_POWERCUT")
    if r is None:
        return 1
    print("bench_meter_powercut: " + "%(steps)d steps, cut points %(cut_points)d (clean + torn), violations %(violations)d, "
          "future-dated activations run %(activations)d, %(seconds).1f s" % r)
    return 1 if r["violations"] or r["cut_points"] < 2000 else 0


if __name__ == "__main__":
    sys.exit(main())
