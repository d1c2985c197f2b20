"""`make demo` runs inside `make test` in its quiet mode and must pass every step."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_demo_quiet_passes():
    r = subprocess.run([sys.executable, "-m", "host_tools.campaigns.demo", "--quiet"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("12 steps, 0 failed"), r.stdout
