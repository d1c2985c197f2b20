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
    assert r.returncode == 2  # the last step's expectation cannot be met
    rep = json.loads((out / "report.json").read_text())
    assert rep["boards"] == 2 and rep["steps"] == 12 and rep["failures"] == 2
    assert {f["kind"] for f in rep["failed"]} == {"keypad"}
    assert rep["memory_kb_per_board"]["micropython_median"] > 1000
    assert rep["latency_ms"]["topup"]["n"] == 4
    suite = ET.parse(out / "junit.xml").getroot()
    assert suite.get("tests") == "12" and suite.get("failures") == "2"
    names = {tc.get("classname") for tc in suite.iter("testcase")}
    assert names == {"b001", "b002"}
    # boards were stopped afterwards
    for b in ("b001", "b002"):
        st = json.loads((out / "boards" / b / "status.json").read_text())
        assert st.get("state") == "stopped"


def test_bad_scenario_one_line(tmp_path):
    sc = tmp_path / "bad.json"
    sc.write_text(json.dumps({"steps": [{"do": "explode"}]}))
    r = _run("bench", str(sc), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "'do' must be one of" in r.stderr and r.stderr.count("\n") == 1
