"""`smlab bench`: run a scenario file across N virtual boards; JUnit XML + JSON report
(host_tools/fleet.py)."""
import json
import os
import sys
import threading

from host_tools import fleet
from host_tools.cli import CliError


def register(sub):
    p = sub.add_parser("bench", help="run a scenario across N virtual boards; JUnit XML + JSON report")
    p.add_argument("scenario", help="scenario JSON file (see host_tools/fleet.py)")
    p.add_argument("--boards", type=int, help="number of virtual boards (overrides the scenario)")
    p.add_argument("--out", default="bench-out", help="work and report directory")
    p.add_argument("--keep", action="store_true", help="leave the boards running afterwards")
    p.set_defaults(func=run)


def run(args):
    try:
        sc = fleet.load(args.scenario)
    except fleet.ScenarioError as e:
        raise CliError(str(e))
    os.makedirs(args.out, exist_ok=True)
    counts = {}
    lock = threading.Lock()
    quiet = args.json or not sys.stderr.isatty()

    def progress(what, vb):
        with lock:
            counts[what] = counts.get(what, 0) + 1
            if not quiet:
                sys.stderr.write("\r" + "  ".join("%s %d" % kv for kv in sorted(counts.items())) + "   ")
                sys.stderr.flush()

    r = fleet.Runner(sc, args.out, progress, args.boards)
    try:
        r.setup()
        rep = r.run()
        r.junit(os.path.join(args.out, "junit.xml"))
    except fleet.ScenarioError as e:
        raise CliError(str(e))
    finally:
        if not args.keep:
            r.stop()
    if not quiet:
        sys.stderr.write("\n")
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(rep, f, indent=1, sort_keys=True)
    lines = ["%s: %d boards, %d steps, %d failed, %.1f s, %.2f steps/s" % (
        rep["scenario"], rep["boards"], rep["steps"], rep["failures"], rep["elapsed_s"],
        rep["throughput_steps_per_s"] or 0)]
    for k, v in rep["latency_ms"].items():
        lines.append("  latency %-7s p50 %7.1f ms  p90 %7.1f ms  p99 %7.1f ms  (n=%d)" % (
            k, v["p50"], v["p90"], v["p99"], v["n"]))
    m = rep["memory_kb_per_board"]
    lines.append("  memory per board (RSS): micropython %s KB + supervisor %s KB" % (
        m["micropython_median"], m["supervisor_median"]))
    lines.append("  setup: " + ", ".join("%s %.1f s" % kv for kv in sorted(rep["setup_s"].items())))
    lines.append("  reports: %s, %s" % (os.path.join(args.out, "report.json"), os.path.join(args.out, "junit.xml")))
    if rep["failures"]:
        for f in rep["failed"][:5]:
            lines.append("  FAIL %s step %d %s: %s" % (f["board"], f["step"], f["kind"], f["output"]))
        raise CliError("\n".join(lines))
    return {"text": "\n".join(lines), "data": rep}
