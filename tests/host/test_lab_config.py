"""`smlab lab exporter-config` for real boards listed in a JSON file (no processes): the labgrid
exporter YAML (a group per board, RawSerialPort per UART at its device path) and the places with
their tags; bad input is one line and exit status 2."""
import json
import os
import subprocess
import sys

import yaml

BIN = os.path.dirname(sys.executable)


def smlab(*a, home):
    return subprocess.run([os.path.join(BIN, "smlab"), *a], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, SMLAB_HOME=str(home)))


def test_real_boards_exporter_yaml_and_places(tmp_path):
    boards = [{"name": "e01", "role": "esme", "eui": "02534D4C01010001", "premises": "p01",
               "console": "/dev/serial/by-id/usb-cp2102-0001", "optical": "/dev/serial/by-id/usb-ft232-a10k"},
              {"name": "h01", "role": "chf", "eui": "02534d4c01030001",
               "console": "/dev/ttyUSB4", "optical": "/dev/ttyUSB5"}]
    f = tmp_path / "boards.json"
    f.write_text(json.dumps(boards))
    r = smlab("--json", "lab", "exporter-config", "--real", str(f), "--name", "Bench-3", "--out", str(tmp_path / "o"),
              home=tmp_path / "home")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["exporter"] == "bench_3" and d["boards"] == ["e01", "h01"]
    text = open(d["config"]).read()
    assert text.startswith("## ")  # the exporter renders it with Jinja2: "#" would be a statement
    exp = yaml.safe_load(text)
    assert exp["e01"]["console"] == {"cls": "RawSerialPort", "port": boards[0]["console"], "speed": 115200}
    assert exp["e01"]["optical"] == {"cls": "RawSerialPort", "port": boards[0]["optical"], "speed": 300}
    assert "keypad" not in exp["h01"]  # real boards have physical keys
    pl = yaml.safe_load(open(d["places"]))
    assert pl["bench_3-e01"] == {"matches": ["bench_3/e01/*"],
                                 "tags": {"role": "esme", "board": "esp32", "eui": "02534d4c01010001",
                                          "premises": "p01"}}
    assert pl["bench_3-h01"]["tags"]["role"] == "chf" and "premises" not in pl["bench_3-h01"]["tags"]


def test_bad_input_one_line(tmp_path):
    f = tmp_path / "boards.json"
    f.write_text(json.dumps([{"name": "e01", "role": "esme", "eui": "02534d4c01010001", "premises": "flat 3",
                              "console": "/dev/ttyUSB0", "optical": "/dev/ttyUSB1"}]))
    r = smlab("lab", "exporter-config", "--real", str(f), "--out", str(tmp_path / "o"), home=tmp_path / "home")
    assert r.returncode == 2 and "lower-case letters, digits and _ only" in r.stderr and r.stderr.count("\n") == 1
    f.write_text(json.dumps([{"name": "e01", "role": "esme"}]))
    r = smlab("lab", "exporter-config", "--real", str(f), home=tmp_path / "home")
    assert r.returncode == 2 and "needs" in r.stderr
    r = smlab("lab", "exporter-config", home=tmp_path / "empty")  # no running boards, no --real
    assert r.returncode == 2 and "no running virtual boards" in r.stderr
    r = smlab("lab", "status", "--coordinator", "127.0.0.1:1", home=tmp_path / "home")
    assert r.returncode == 2 and "no labgrid coordinator at 127.0.0.1:1" in r.stderr
