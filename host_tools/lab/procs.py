"""A labgrid coordinator and exporters as processes (tests, `smlab lab coordinator|exporter`).

labgrid 24+ runs its coordinator as a gRPC server, `labgrid-coordinator -l HOST:PORT` (default
port 20408), keeping its places and reservations in `places.yaml` / `reservations` files of its
working directory; an exporter, `labgrid-exporter -c HOST:PORT -n NAME --hostname ADDR CONFIG`,
connects to it and publishes the resources of CONFIG, reachable at ADDR. Each process runs in its
own session (process group), so stopping an exporter also ends the ser2net processes it started.
"""
import os
import signal
import socket
import subprocess
import sys
import time

from host_tools.errors import SmlabError


def free_port(host="127.0.0.1"):
    s = socket.socket()
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _spawn(cmd, workdir, log, prefix=()):
    os.makedirs(workdir, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(os.path.join(workdir, log), "ab") as f:
        return subprocess.Popen(list(prefix) + cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=f,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)


def coordinator_cmd(listen):
    return [sys.executable, "-m", "labgrid.remote.coordinator", "-l", listen]


def exporter_cmd(config, coordinator, name, hostname):
    return [sys.executable, "-m", "labgrid.remote.exporter", "-c", coordinator, "-n", name,
            "--hostname", hostname, os.path.abspath(config)]


def start_coordinator(workdir, host="127.0.0.1", port=None, prefix=(), timeout=20.0):
    """Start a coordinator listening on host:port (a free port when None); returns (Popen, "HOST:PORT")."""
    port = port or free_port(host)
    p = _spawn(coordinator_cmd("%s:%d" % (host, port)), workdir, "coordinator.log", prefix)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise SmlabError("labgrid coordinator exited (%d): %s" % (p.returncode, _tail(workdir, "coordinator.log")))
        try:
            socket.create_connection((host, port), 0.5).close()
            return p, "%s:%d" % (host, port)
        except OSError:
            time.sleep(0.1)
    stop(p)
    raise SmlabError("labgrid coordinator not listening on %s:%d after %.0f s" % (host, port, timeout))


def start_exporter(config, coordinator, name, hostname, workdir, prefix=()):
    """Start an exporter for `config` (an exporter YAML); returns its Popen. Wait for its resources
    with host_tools.lab.client.Lab (the coordinator is the judge of a connected exporter)."""
    return _spawn(exporter_cmd(config, coordinator, name, hostname), workdir, "exporter-%s.log" % name, prefix)


def wait_exporter(p, coordinator, name, workdir, timeout=30.0):
    """Wait until the coordinator lists exporter `name`'s resources; SmlabError when the exporter
    process ends first (its log's last lines say why) or the time runs out."""
    from host_tools.lab.client import Lab

    deadline = time.monotonic() + timeout
    with Lab(coordinator) as lab:
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise SmlabError("labgrid exporter %s exited (%d): %s"
                                 % (name, p.returncode, _tail(workdir, "exporter-%s.log" % name)))
            if lab.resources().get(name):
                return
            time.sleep(0.2)
    raise SmlabError("labgrid exporter %s not on the coordinator after %.0f s" % (name, timeout))


def stop(p, sig=signal.SIGTERM, timeout=10.0):
    """Stop a process started here and everything in its process group (ser2net children)."""
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        return
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(5)
    try:  # children left in the group (ser2net) go too
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _tail(workdir, log, n=400):
    try:
        with open(os.path.join(workdir, log), "rb") as f:
            return f.read()[-n:].decode(errors="replace").strip().replace("\n", " | ")
    except OSError:
        return ""
