"""Shared host-test helpers: a flashed, provisioned virtual ESME driven through the smlab CLI."""
import os
import subprocess
import sys

BIN = os.path.dirname(sys.executable)


def smlab_runner(home):
    """run(*args, check=True, code=0) -> CompletedProcess of `smlab` with SMLAB_HOME=home; with
    check, the exit status must be `code` (0 success, 1 the device refused, 2 bad input)."""
    env = dict(os.environ, SMLAB_HOME=str(home))

    def run(*a, check=True, code=0):
        r = subprocess.run([os.path.join(BIN, "smlab"), *a], capture_output=True, text=True,
                           timeout=180, env=env)
        if check:
            assert r.returncode == code, (a, r.stdout, r.stderr)
        return r

    return run


def provisioned_esme(tmp, name="m", esme=2):
    """Bench PKI with `esme` devices, virtual board `name` flashed and provisioned as the first
    one (not yet reset). Returns (run, key store path)."""
    run = smlab_runner(tmp / "home")
    ks = str(tmp / "pki")
    run("pki", "create", ks, "--esme", str(esme))
    run("sim", "start", name, "--flash-kb", "2048")
    try:
        run("flash", "sim:" + name)
        run("provision", "sim:" + name, "--keys", ks)
    except BaseException:  # the caller's teardown never runs: do not leave the board running
        run("sim", "stop", check=False)
        raise
    return run, ks
