"""Full power-cut campaign for the durable store on littlefs2 (docs/storage.md).

Runs board/unix_powercut.py in one MicroPython unix-port process: a power cut at every write index of
every workload step, clean and torn, reboot and check. Prints cut points tried and violations found
(must be 0; exit status 1 otherwise). Usage: .venv/bin/python bench/bench_powercut.py [steps] [seed]
"""
import sys

import devicerun


def main():
    steps, seed = devicerun.arg(1, 300), devicerun.arg(2, 1)
    r = devicerun.campaign("from board import unix_powercut as powercut\npowercut.main(%d, %d, show=50)"
                           % (steps, seed), "POWERCUT", heap="2M")
    if r is None:
        return 1
    print("bench_powercut: workload steps %(steps)d, cut points tried %(cut_points)d (clean + torn), "
          "violations %(violations)d, %(seconds).1f s" % r)
    return 1 if r["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
