"""`smlab bench`: a scenario across several virtual boards in parallel, JUnit XML + JSON report;
a wrong expectation fails the run with a non-zero exit and a JUnit failure."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

BIN = os.path.dirname(sys.executable)


def _run(*a):
    return subprocess.run([os.path.join(BIN, "smlab"), *a], capture_output=True, text=True, timeout=600)


def test_bench_two_boards(tmp_path):
    sc = tmp_path / "sc.json"
    sc.write_text(json.dumps({
        "name": "mini", "boards": {"count": 2},
        "steps": [{"do": "topup", "amount": "1.00", "expect": "ACCEPTED +1.00"},
                  {"do": "replay", "expect": "REJECTED 8F51"},
                  {"do": "code", "op": "switch_to_credit", "expect": "ACCEPTED SWITCH_TO_CREDIT"},
                  {"do": "logs", "log": "utrn", "expect": "0x8F51"},
                  {"do": "topup", "amount": "2", "expect": "BALANCE 3.00"},
                  {"do": "keypad", "keys": "Z", "expect": "NEVER SHOWN"}]}))
    out = tmp_path / "out"
    r = _run("--json", "bench", str(sc), "--out", str(out))
    assert r.returncode == 1  # the last step's expectation cannot be met
    rep = json.loads((out / "report.json").read_text())
    assert rep["boards"] == 2 and rep["steps"] == 12 and rep["failures"] == 2
    assert {f["kind"] for f in rep["failed"]} == {"keypad"}
    assert rep["memory_kb_per_board"]["micropython_median"] > 1000
    assert rep["latency_ms"]["topup"]["n"] == 4
    suite = ET.parse(out / "junit.xml").getroot()
    assert suite.get("tests") == "12" and suite.get("failures") == "2"
    names = {tc.get("classname") for tc in suite.iter("testcase")}
    assert names == {"b001", "b002"}
    page = (out / "report.html").read_text()  # the HTML report: a timeline bar per step, failures marked
    assert page.count('class="step') == 12 and page.count('class="step failed"') == 2
    # boards were stopped afterwards
    for b in ("b001", "b002"):
        st = json.loads((out / "boards" / b / "status.json").read_text())
        assert st.get("state") == "stopped"


def test_bad_scenario_one_line(tmp_path):
    sc = tmp_path / "bad.json"
    sc.write_text(json.dumps({"steps": [{"do": "explode"}]}))
    r = _run("bench", str(sc), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "'do' must be one of" in r.stderr and r.stderr.count("\n") == 1


def test_bench_real_board_path_over_serial_ports(tmp_path):
    """Boards given only by serial ports (as real ESP32s would be): the campaign flashes and
    provisions them, resets them through the HAL over the REPL, and runs optical `send` and
    `logs` steps; keypad steps are refused with their reason. Virtual boards stand in for the
    hardware, addressed purely by their pty paths."""
    env = dict(os.environ, SMLAB_HOME=str(tmp_path / "home"))
    run = lambda *a: subprocess.run([os.path.join(BIN, "smlab"), *a], capture_output=True, text=True,
                                    timeout=600, env=env)
    ks = str(tmp_path / "pki")
    assert run("pki", "create", ks, "--esme", "2").returncode == 0
    try:
        assert run("sim", "start", "r1", "r2", "--flash-kb", "2048").returncode == 0
        rows = json.loads(run("--json", "sim", "list").stdout)
        real = [{"repl": os.path.realpath(r["console"]), "optical": os.path.realpath(r["optical"]),
                 "eui": r["eui"], "name": r["name"]} for r in rows]
        sc = tmp_path / "real.json"
        sc.write_text(json.dumps({
            "name": "real", "target": "host", "boards": {"real": real, "keys": ks},
            "steps": [{"do": "send", "use_case": "ECS43", "expect": "action success"},
                      {"do": "send", "use_case": "ECS45", "expect": "load switch disconnected"},
                      {"do": "logs", "log": "optlog", "expect": "81A5"},
                      {"do": "send", "use_case": "ECS42", "expect": "action success"},
                      {"do": "keypad", "keys": "1#", "expect": "x"}]}))
        r = run("--json", "bench", str(sc), "--out", str(tmp_path / "out"))
        assert r.returncode == 1
        rep = json.loads((tmp_path / "out" / "report.json").read_text())
        assert rep["steps"] == 10 and rep["failures"] == 2, rep["failed"]
        assert {f["kind"] for f in rep["failed"]} == {"keypad"}
        assert "physical keys" in rep["failed"][0]["output"]
        # the boards were left running (real boards are not stopped by a campaign)
        assert all(x["state"] != "stopped" for x in json.loads(run("--json", "sim", "list").stdout))
    finally:
        run("sim", "stop")
