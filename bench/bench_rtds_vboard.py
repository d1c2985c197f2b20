"""RTDS conformance on a virtual board, the whole corpus, next to the same run in process.

A virtual board with the RTDS ESME's EUI-64 (00DB1234567890A0) is started in a temporary SMLAB_HOME
and flashed (`smlab sim start`, `smlab flash`); `smlab rtds sim:rt --role esme` then provisions it
as the RTDS ESME and feeds it every RTDS command addressed to it through the optical port (HHT
login, GBCS pass-through), resetting it per use case (host_tools/gbcs/runner.py). The same
corpus runs in process (the firmware role under CPython). Prints both summaries, their timings and
every use case whose verdicts differ between the two; exits 1 when any differ.

Usage: .venv/bin/python bench/bench_rtds_vboard.py [--keep DIR] [--use-case NAME ...]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
SMLAB = os.path.join(os.path.dirname(sys.executable), "smlab")
COUNTS = ("commands", "authenticated", "verified", "success_total", "success_content_equal",
          "error_total", "error_content_equal")


def smlab(home, *args, check=True):
    env = dict(os.environ, SMLAB_HOME=home)
    t = time.monotonic()
    r = subprocess.run([SMLAB, *args], capture_output=True, text=True, env=env, timeout=3600)
    if check and r.returncode not in (0, 1):
        sys.exit("smlab %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    return r, time.monotonic() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep the board's files and outputs")
    ap.add_argument("--use-case", action="append", default=[], help="only these use cases (repeatable)")
    a = ap.parse_args(argv)
    work = a.keep or tempfile.mkdtemp(prefix="bench-rtds-")
    home = os.path.join(work, "home")
    sel = []
    for u in a.use_case:
        sel += ["--use-case", u]
    ip_r, ip_t = smlab(home, "rtds", "--role", "esme", "--json", *sel)
    ip = json.loads(ip_r.stdout)
    smlab(home, "sim", "start", "rt", "--eui", "00db1234567890a0")
    try:
        smlab(home, "flash", "sim:rt")
        vb_r, vb_t = smlab(home, "rtds", "sim:rt", "--role", "esme", "--json", "--junit",
                           os.path.join(work, "rtds-vboard.xml"), "--out", os.path.join(work, "responses"),
                           "--report", os.path.join(work, "rtds-vboard.json"), *sel)
    finally:
        smlab(home, "sim", "stop", check=False)
    vb = json.loads(vb_r.stdout)
    print("%-12s %s   wall time" % ("", " ".join("%9s" % k[:9] for k in COUNTS)))
    for name, s, t in (("in process", ip, ip_t), ("virtual", vb, vb_t)):
        print("%-12s %s   %7.1f s" % (name, " ".join("%9d" % s[k] for k in COUNTS), t))
    print("virtual board: %d use cases, %.2f s per use case (reset + HHT login + commands)"
          % (vb["use_case_count"], vb["seconds"] / max(1, vb["use_case_count"])))
    ipu = {u["name"]: u for u in ip["use_cases"]}
    diff = [u for u in vb["use_cases"] if [u[k] for k in COUNTS] != [ipu[u["name"]][k] for k in COUNTS]]
    for u in diff:
        print("differs: %s virtual %s in process %s" % (u["name"], [u[k] for k in COUNTS],
                                                         [ipu[u["name"]][k] for k in COUNTS]))
    if diff:
        print("per-command details: %s" % os.path.join(work, "rtds-vboard.json"))
    print("outputs in %s" % work)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
