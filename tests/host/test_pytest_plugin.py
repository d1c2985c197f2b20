"""The smlab pytest plugin (host_tools/pytest_plugin.py), used as a bench engineer would: an ordinary
pytest file (tests/host/plugin_example/interop_example.py) run in a subprocess against a virtual
board the plugin starts, flashes and provisions; a failing expectation fails that test only; the
plugin is registered through its entry point (no -p option given). The same file against a board
acquired through a labgrid coordinator runs in tests/host/test_lab.py."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "tests", "host", "plugin_example", "interop_example.py")


def run_pytest(*args, cwd=ROOT, timeout=240):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


def test_plugin_options_registered_by_entry_point():
    r = run_pytest("--help")
    assert r.returncode == 0
    assert "--smlab-lab=HOST:PORT" in r.stdout and "--smlab-tag=KEY=VALUE" in r.stdout


def test_interop_file_on_a_virtual_board(tmp_path):
    broken = tmp_path / "interop_broken.py"
    broken.write_text("def test_expect_wrong(smlab_board):\n"
                      "    assert smlab_board.enter('11111111111111111111')[0].startswith('ACCEPTED')\n")
    r = run_pytest(EXAMPLE, str(broken), "-rA", "--junitxml", str(tmp_path / "j.xml"))
    out = r.stdout + r.stderr
    assert r.returncode == 1, out  # the broken expectation only
    passed = [ln for ln in out.splitlines() if ln.startswith("PASSED ")]
    failed = [ln for ln in out.splitlines() if ln.startswith("FAILED ")]
    assert len(passed) == 3 and all("interop_example.py::test_" in ln for ln in passed), out
    assert len(failed) == 1 and "test_expect_wrong" in failed[0] and "REJECTED 8F63" in out, out
    junit = (tmp_path / "j.xml").read_text()
    assert 'name="test_topup_accepted_once"' in junit and "REJECTED 8F63" in junit


def test_premises_fixtures():
    r = run_pytest(os.path.join(ROOT, "tests", "host", "plugin_example", "premises_example.py"), "-rA")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "PASSED tests/host/plugin_example/premises_example.py::test_premises_boards_and_capture" in out, out
