"""Full power-cut campaign over GSME top-ups and the valve (firmware/roles/gsme.py, firmware/gas/; docs/gas.md
"Power cuts").

Runs tests/unit/test_gsme_powercut.py's campaign in one MicroPython unix-port process: littlefs2 on the
simulated NOR flash, a power cut (clean and torn) at every program/erase operation of every step of a
scripted GSME life (keypad and CS01b UTRN top-ups, a UTRN entered twice, a future-dated GCS02 and
the wake that executes it, GCS39 arm and GCS32 close
through the command gate, the consumer's button, alerts delivered, wakes), reboot and check (the
GSME boots; its state is the state before or after the step, or the command burned; the valve
never opens without the button; an interrupted command is never run twice). Prints cut points and
violations; exit status 1 unless violations = 0 and cut points >= 2000.
Usage: .venv/bin/python bench/bench_gsme_powercut.py [rounds (default 10)]
"""
import sys

import devicerun


def main():
    rounds = devicerun.arg(1, 10)
    r = devicerun.campaign("import test_gsme_powercut as t\nt.main(%d, show=50)" % rounds, "GSME_POWERCUT")
    if r is None:
        return 1
    print("bench_gsme_powercut: " + "%(steps)d steps, cut points %(cut_points)d (clean + torn), violations %(violations)d, %(seconds).1f s" % r)
    return 1 if r["violations"] or r["cut_points"] < 2000 else 0


if __name__ == "__main__":
    sys.exit(main())
