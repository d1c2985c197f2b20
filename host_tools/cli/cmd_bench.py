"""`smlab bench`: run a scenario file across N boards; JUnit XML, JSON and HTML reports
(host_tools/campaigns/fleet.py). Exit status 1 when any step gave an unexpected result."""
import argparse
import json
import os
import sys
import threading
import time

from host_tools.campaigns import fleet, report
from host_tools.cli.common import add_home
from host_tools.errors import EXIT_REFUSED
from host_tools.util import smlab_home, write_atomic


def register(sub):
    doc = fleet.__doc__.split("\n", 1)
    p = sub.add_parser("bench", help="run a scenario across N virtual boards; JUnit XML, JSON and HTML reports",
                       description=doc[0], epilog="Scenario format:\n" + doc[1],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", help="scenario JSON file (format below)")
    p.add_argument("--boards", type=int, help="number of virtual boards (overrides the scenario)")
    p.add_argument("--out", help="work and report directory (default <home>/bench/<scenario>-<time>)")
    p.add_argument("--keep", action="store_true", help="leave the boards running afterwards")
    add_home(p)
    p.set_defaults(func=run)


def run(args):
    sc = fleet.load(args.scenario)
    return campaign(sc, args.scenario, args, args.boards)


def campaign(sc, scenario_path, args, boards_n=None):
    """Run a loaded scenario; reports in --out (report.json, junit.xml, report.html). Also the body
    of `smlab lab bench` (the scenario's boards then come from a labgrid lab)."""
    out = args.out or os.path.join(smlab_home(args.home), "bench", "%s-%s" % (
        os.path.splitext(os.path.basename(scenario_path))[0], time.strftime("%Y%m%d-%H%M%S")))
    os.makedirs(out, exist_ok=True)
    counts = {}
    lock = threading.Lock()
    tty = sys.stderr.isatty()
    quiet = args.json

    r = fleet.Runner(sc, out, None, boards_n)
    total = {"step": r.n * len(sc["steps"]) * int(sc.get("repeat", 1))}

    def progress(what, item):
        """Setup phases and steps as they advance: one live line on a terminal, else (a log) a
        line every tenth of a phase."""
        with lock:
            n = counts[what] = counts.get(what, 0) + 1
            if quiet:
                return
            if tty:
                sys.stderr.write("\r" + "  ".join("%s %d/%d" % (k, v, total.get(k, r.n))
                                                  for k, v in sorted(counts.items())) + "   ")
            else:
                of = total.get(what, r.n)
                if n == of or (of >= 20 and n % (of // 10) == 0):
                    sys.stderr.write("%s %d/%d\n" % (what, n, of))
            sys.stderr.flush()

    r.progress = progress
    try:
        r.setup()
        rep = r.run()
        r.junit(os.path.join(out, "junit.xml"))
    finally:
        if not getattr(args, "keep", False):
            r.stop()
        elif r.lab is not None:  # --keep leaves boards running, never places held
            r.vbs = []
            r.stop()
    if not quiet and tty:
        sys.stderr.write("\n")
    write_atomic(os.path.join(out, "report.json"), json.dumps(rep, indent=1, sort_keys=True))
    report.write(os.path.join(out, "report.html"), rep, r.steps())
    lines = ["%s: %d boards, %d steps, %d failed, %.1f s, %.2f steps/s" % (
        rep["scenario"], rep["boards"], rep["steps"], rep["failures"], rep["elapsed_s"],
        rep["throughput_steps_per_s"] or 0)]
    for k, v in rep["latency_ms"].items():
        lines.append("  latency %-7s p50 %7.1f ms  p90 %7.1f ms  p99 %7.1f ms  (n=%d)" % (
            k, v["p50"], v["p90"], v["p99"], v["n"]))
    m = rep["memory_kb_per_board"]
    if m["micropython_median"] is not None:
        lines.append("  memory per board (RSS): micropython %s KB + supervisor %s KB" % (
            m["micropython_median"], m["supervisor_median"]))
    lines.append("  setup: " + ", ".join("%s %.1f s" % kv for kv in sorted(rep["setup_s"].items())))
    lab = rep.get("lab")
    if lab:
        for e, d in sorted(lab["exporters"].items()):
            lines.append("  exporter %s: %d places, %d steps, %d failed%s" % (
                e, len(d["places"]), d["steps"], d["failures"],
                ", LOST after %.1f s (its places released)" % d["lost_after_s"] if d["lost"] else ""))
    lines.append("  reports: %s, %s, %s" % (os.path.join(out, "report.json"), os.path.join(out, "junit.xml"),
                                            os.path.join(out, "report.html")))
    for f in rep["failed"][:5]:
        lines.append("  FAIL %s step %d %s: %s" % (f["board"], f["step"], f["kind"], f["output"]))
    return {"text": "\n".join(lines), "data": dict(rep, out=out),
            "exit_code": EXIT_REFUSED if rep["failures"] else 0}
