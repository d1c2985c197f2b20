"""Fleet density and speed on this machine: the top-up campaign (bench/scenarios/topup.json) on N
virtual ESMEs, flashing N boards, memory per board, and M idle virtual boards held at once - each
figure next to the same figure measured with the old path in the same run.

New path: firmware that waits on its inputs (board.wait), one supervisor process for all boards,
boards flashed by copying a prebuilt littlefs2 image (each board checks its files' hashes at its
first boot), the key store read once, an in-process counter ledger, display lines pushed to the
step threads. Old path (host_tools/campaigns/fleet.py Runner.legacy, firmware built from OLD_REV,
whose loop polls every 2 ms): one supervisor per board, files copied over each REPL with mpremote,
the key store read per board, a file-locked fsync'd ledger per counter, console.log re-read every
5 ms by each step thread.

    .venv/bin/python bench/bench_fleet_scale.py                 # 100 boards, 500 idle, old path too
    .venv/bin/python bench/bench_fleet_scale.py --boards 20 --idle 50 --old-boards 20

Figures: top-up p50 (ms) and steps/s over the campaign; idle CPU per board (% of one core, from
/proc/<pid>/stat over --idle-s seconds); flashing N boards (s: image copy + boot + on-board hash
check, vs mpremote copy + hash check); PSS per board (MB: its micropython process plus its share of
its supervisor, /proc/<pid>/smaps_rollup); idle boards held (alive count, PSS in all).
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

from host_tools.boards import build, flash, image, vboard  # noqa: E402
from host_tools.boards.vboard import VBoard, pid_alive  # noqa: E402
from host_tools.campaigns import fleet  # noqa: E402

OLD_REV = "ee6b08f"  # the firmware before the application loop waited on its inputs (polled every 2 ms)
SCENARIO = os.path.join(ROOT, "bench", "scenarios", "topup.json")
TARGETS = {"p50_ms": 200, "steps_s": 300, "flash_s": 10, "pss_mb": 7, "idle_pct": 0.3, "idle_boards": 500}


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for ln in f:
                if ln.startswith("Pss:"):
                    return int(ln.split()[1])
    except (OSError, ValueError):
        return 0
    return 0


def cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            x = f.read().rsplit(")", 1)[1].split()
        return int(x[11]) + int(x[12])
    except (OSError, IndexError, ValueError):
        return 0


def idle_cpu(pids, seconds):
    """% of one core each pid used over `seconds` (the median and the maximum)."""
    a = [cpu_ticks(p) for p in pids]
    time.sleep(seconds)
    b = [cpu_ticks(p) for p in pids]
    hz = os.sysconf("SC_CLK_TCK")
    pct = sorted((y - x) * 100.0 / hz / seconds for x, y in zip(a, b))
    return pct[len(pct) // 2], pct[-1]


def board_pss_mb(vbs):
    """Median PSS per board: micropython + supervisor PSS / boards the supervisor serves."""
    sts = [vb.status() for vb in vbs]
    served = {}
    for st in sts:
        served[st.get("supervisor")] = served.get(st.get("supervisor"), 0) + 1
    sup_pss = {pid: pss_kb(pid) for pid in served if pid}
    per = sorted(pss_kb(st.get("micropython") or 0) + sup_pss.get(st.get("supervisor"), 0) / served[st.get("supervisor")]
                 for st in sts)
    return per[len(per) // 2] / 1024.0


def old_firmware(tmp):
    """Files of the firmware at OLD_REV (its loop polls every 2 ms), built for the host."""
    src = os.path.join(tmp, "old-src")
    os.makedirs(src)
    arc = subprocess.run(["git", "-C", ROOT, "archive", OLD_REV, "firmware", "board"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", src], input=arc.stdout, check=True)
    out = os.path.join(tmp, "old-build")
    build.build("host", out, root=src)
    return flash.files_from_dir(out) + flash.device_root_files()


def campaign(n, workdir, legacy, files, idle_s):
    sc = fleet.load(SCENARIO)
    r = fleet.Runner(sc, workdir, boards_n=n)
    r.legacy = legacy
    r.files = files
    try:
        r.setup()
        time.sleep(2)  # after provisioning's resets: the firmware settles into its loop
        idle = idle_cpu([vb.status()["micropython"] for vb in r.vbs], idle_s)
        pss = board_pss_mb(r.vbs)
        sups = len({vb.status().get("supervisor") for vb in r.vbs})
        rep = r.run()
    finally:
        r.stop()
    return {"boards": n, "p50_ms": rep["latency_ms"]["topup"]["p50"], "steps_s": rep["throughput_steps_per_s"],
            "steps": rep["steps"], "failures": rep["failures"], "flash_s": round(r.setup_s.get("flash", 0), 2),
            "setup_s": rep["setup_s"], "idle_pct_median": round(idle[0], 3), "idle_pct_max": round(idle[1], 3),
            "pss_mb": round(pss, 2), "supervisors": sups}


def hold_idle(n, workdir, files, idle_s):
    """n boards flashed from the image, all running the (unprovisioned) firmware at once under one
    supervisor: how many are alive, their memory and CPU."""
    os.makedirs(workdir, exist_ok=True)
    img = image.write_image(os.path.join(workdir, "idle.img"), files, 1024)
    vbs = [VBoard(os.path.join(workdir, "i%03d" % i), flash_kb=1024, heap="512K",
                  eui64="0253494400%06x" % i) for i in range(n)]
    t0 = time.monotonic()
    try:
        offs = [image.copy_to(img, vb.path) for vb in vbs]
        vboard.start_many(vbs, timeout=max(300, n), uarts=("optical", "keypad"))
        image.wait_verified(vbs, offs, timeout=max(300, n))
        for vb in vbs:
            fleet.wait_shown(vb, ("NOT PROVISIONED",), max(300, n))
        up_s = time.monotonic() - t0
        time.sleep(2)
        sts = [vb.status() for vb in vbs]
        alive = sum(1 for st in sts if st.get("micropython") and pid_alive(st["micropython"]))
        idle = idle_cpu([st["micropython"] for st in sts], idle_s)
        sup = {st.get("supervisor") for st in sts}
        total_mb = (sum(pss_kb(st["micropython"]) for st in sts) + sum(pss_kb(p) for p in sup)) / 1024.0
        avail = _mem_available_mb()
    finally:
        vboard.stop_many(vbs, timeout=60)
    return {"boards": n, "alive": alive, "up_s": round(up_s, 1), "pss_total_mb": round(total_mb, 1),
            "pss_per_board_mb": round(total_mb / max(1, n), 2), "idle_pct_median": round(idle[0], 3),
            "idle_pct_max": round(idle[1], 3), "supervisors": len(sup), "mem_available_mb": avail}


def _mem_available_mb():
    with open("/proc/meminfo") as f:
        for ln in f:
            if ln.startswith("MemAvailable:"):
                return int(ln.split()[1]) // 1024
    return None


def row(name, new, old, target, unit, better="lower"):
    ok = (new <= target) if better == "lower" else (new >= target)
    o = "%s %s" % (old, unit) if old is not None else "-"
    print("%-34s %12s %-6s | old path %14s | target %s %s %s  %s" % (
        name, new, unit, o, "<=" if better == "lower" else ">=", target, unit, "OK" if ok else "MISSED"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", type=int, default=100, help="virtual ESMEs in the top-up campaign (100)")
    ap.add_argument("--old-boards", type=int, default=None, help="boards for the old path (default --boards; 0: skip)")
    ap.add_argument("--idle", type=int, default=500, help="idle virtual boards held at once (500; 0: skip)")
    ap.add_argument("--idle-s", type=float, default=10.0, help="seconds of the idle CPU measurement (10)")
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args(argv)
    old_n = a.boards if a.old_boards is None else a.old_boards
    out = {"machine": {"cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="fleet-scale-") as tmp:
        new_files = flash.firmware_files("host", os.path.join(tmp, "fw"))
        print("new path: %d boards ..." % a.boards, flush=True)
        out["new"] = campaign(a.boards, os.path.join(tmp, "new"), False, new_files, a.idle_s)
        print(json.dumps(out["new"]), flush=True)
        if old_n:
            print("old path: %d boards (firmware %s) ..." % (old_n, OLD_REV), flush=True)
            out["old"] = campaign(old_n, os.path.join(tmp, "old"), True, old_firmware(tmp), a.idle_s)
            print(json.dumps(out["old"]), flush=True)
        if a.idle:
            print("holding %d idle boards ..." % a.idle, flush=True)
            out["idle"] = hold_idle(a.idle, os.path.join(tmp, "idle"), new_files, a.idle_s)
            print(json.dumps(out["idle"]), flush=True)
    new, old = out["new"], out.get("old")
    o = (lambda k: old[k]) if old else (lambda k: None)
    on = " (%d boards)" % old["boards"] if old and old["boards"] != new["boards"] else ""
    print("\n%d virtual ESMEs, %d CPUs%s" % (new["boards"], os.cpu_count(), (" - old path at" + on) if on else ""))
    row("top-up p50", new["p50_ms"], o("p50_ms"), TARGETS["p50_ms"], "ms")
    row("throughput", new["steps_s"], o("steps_s"), TARGETS["steps_s"], "steps/s", "higher")
    row("flashing %d boards" % new["boards"], new["flash_s"], o("flash_s"), TARGETS["flash_s"], "s")
    row("PSS per board", new["pss_mb"], o("pss_mb"), TARGETS["pss_mb"], "MB")
    row("idle CPU per board (median)", new["idle_pct_median"], o("idle_pct_median"), TARGETS["idle_pct"], "%")
    print("step failures: new %d/%d, old %s" % (new["failures"], new["steps"],
                                                 "%d/%d" % (old["failures"], old["steps"]) if old else "-"))
    print("supervisor processes: new %d, old %s" % (new["supervisors"], old["supervisors"] if old else "-"))
    if "idle" in out:
        i = out["idle"]
        old_cores = ("%.1f cores" % (i["boards"] * old["idle_pct_median"] / 100.0)) if old else "-"
        row("idle boards alive", i["alive"], None, TARGETS["idle_boards"], "boards", "higher")
        print("  %d boards up in %.0f s, PSS %.0f MB in all (%.2f MB each), idle CPU median %.3f%% max %.3f%% "
              "(old firmware's idle rate would need %s), %d supervisor process(es), %s MB still available"
              % (i["boards"], i["up_s"], i["pss_total_mb"], i["pss_per_board_mb"], i["idle_pct_median"],
                 i["idle_pct_max"], old_cores, i["supervisors"], i["mem_available_mb"]))
    if not old:
        print("(old path not run; the one-process campaign measured on this machine: 100 boards p50 7.8-9.4 s, ~12 steps/s; flashing 0.8 s/board "
              "= 80 s for 100; ~13 MB PSS per board; idle 2% of a core per board)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
