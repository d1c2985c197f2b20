"""`smlab build`: .mpy output per target; host bytecode really runs on the unix port."""
import json
import os
import subprocess
import sys

import pytest

from host_tools.boards import build

SMLAB = os.path.join(os.path.dirname(sys.executable), "smlab")
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")


def test_build_host_runs_on_unix_port(tmp_path):
    out = tmp_path / "host"
    r = subprocess.run([SMLAB, "--json", "build", "--target", "host", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    paths = [f["path"] for f in data["files"]]
    assert "firmware/alerts.mpy" in paths and not any(p.startswith("board/esp32") for p in paths)
    # data the firmware reads from flash ships too (the P-256 generator comb table)
    assert "firmware/crypto/p256_g7.bin" in paths
    assert all(os.path.getsize(out / f["path"]) == f["size"] for f in data["files"])
    # only .mpy on the path: the compiled module must import and behave like the source
    code = ("import sys; sys.path[:] = ['%s']\n"
            "from firmware.alerts import Reject, UTRN_DUPLICATE\n"
            "import firmware.alerts as a; assert a.__file__.endswith('.mpy'), a.__file__\n"
            "print(str(Reject('dup', UTRN_DUPLICATE)))\n" % out)
    r = subprocess.run([MICROPYTHON, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "dup (0x8F51 duplicate UTRN entered)", r.stdout + r.stderr


def test_build_esp32_excludes_unix_board(tmp_path):
    manifest = build.build("esp32", str(tmp_path))
    paths = [m[0] for m in manifest]
    assert paths and not any(p.startswith(("board/unix", "board/vboard")) for p in paths)
    # .mpy header: 'M', version 6, then feature flags carrying the native arch for xtensawin
    with open(tmp_path / paths[0], "rb") as f:
        head = f.read(4)
    assert head[0:1] == b"M" and head[1] == 6


def test_build_error_names_module(tmp_path):
    (tmp_path / "firmware").mkdir()
    (tmp_path / "firmware" / "broken.py").write_text("def f(:\n")
    with pytest.raises(build.BuildError) as e:
        build.build("host", str(tmp_path / "out"), root=str(tmp_path))
    assert "firmware/broken.py" in str(e.value)


def test_unknown_target_is_one_line_error():
    r = subprocess.run([SMLAB, "build", "--target", "avr"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "invalid choice" in r.stderr
