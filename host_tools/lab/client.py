"""The campaign's side of a labgrid coordinator, on labgrid's Python client API.

`Lab(address)` opens a `labgrid.remote.client.ClientSession` (gRPC, labgrid 24+) whose asyncio loop
runs in a background thread, so the coordinator's resource and place updates keep arriving while
campaign threads work; every call is handed to that loop. What a campaign does with it:

* `ensure_places(spec)`: create the places `smlab lab exporter-config` wrote (matches, tags), idempotent;
* `reserve(tags, count)`: one labgrid reservation with `count` filters of those tags, waited on until
  the coordinator allocates places (the scheduler never gives one place to two reservations);
* `acquire(place)` / `release(place)`: the place's resources are locked on their exporter (which
  starts serving them: ser2net for a RawSerialPort) and freed again;
* `ports(place)`: {uart: "rfc2217://HOST:PORT?ign_set_control"} of an acquired place, once its exporter publishes them;
* `exporter_alive(exporter)`: False once the coordinator has dropped that exporter (its resources
  vanish from the session; the place keeps them as orphaned until released).
"""
import argparse
import asyncio
import contextlib
import io
import threading
import time

from host_tools.errors import SmlabError


class LabError(SmlabError):
    """The coordinator refused or could not be reached (one-line reason)."""


class Lab:
    def __init__(self, address, timeout=10.0):
        import grpc  # noqa: F401  (labgrid's transport; a clear error when it is missing)
        from labgrid.remote.client import ClientSession, Error
        from labgrid.util.proxy import proxymanager

        self.address = proxymanager.get_grpc_address(address, default_port=20408)
        self._Error = Error
        self.loop = asyncio.new_event_loop()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.loop.run_forever, name="labgrid-session", daemon=True)
        self.thread.start()

        async def make():
            import grpc
            from labgrid.remote.generated import labgrid_coordinator_pb2_grpc

            s = ClientSession(self.address, self.loop)
            # gRPC shares one connection between channels to the same target, and the coordinator
            # keys its clients by connection: a second session of this process (a campaign and a
            # test fixture, say) needs a connection of its own
            opts = [("grpc.keepalive_time_ms", 7500), ("grpc.keepalive_timeout_ms", 10000),
                    ("grpc.http2.ping_timeout_ms", 10000), ("grpc.http2.max_pings_without_data", 0),
                    ("grpc.use_local_subchannel_pool", 1)]
            await s.channel.close()
            s.channel = grpc.aio.insecure_channel(target=self.address, options=opts)
            s.stub = labgrid_coordinator_pb2_grpc.CoordinatorStub(s.channel)
            return s

        self.session = self._run(make())
        try:
            self._run(asyncio.wait_for(self.session.start(), timeout))
        except (asyncio.TimeoutError, Exception) as e:
            self.close()
            raise LabError("no labgrid coordinator at %s (%s)" % (address, type(e).__name__ if not str(e) else e))
        self.tokens = []

    # -- plumbing ------------------------------------------------------------------------------
    def _run(self, aw, timeout=60.0):
        async def wait():  # a coroutine or a gRPC call object (awaitable)
            return await aw

        return asyncio.run_coroutine_threadsafe(wait(), self.loop).result(timeout)

    def _call(self, method, **args):
        """A ClientSession command (they read self.args as labgrid-client's parser fills it);
        labgrid's messages to stdout are kept off ours (it holds data under --json)."""
        with self.lock:
            self.session.args = argparse.Namespace(**args)
            buf = io.StringIO()
            try:
                with contextlib.redirect_stdout(buf):
                    return self._run(getattr(self.session, method)())
            except self._Error as e:
                raise LabError(str(e))

    def sync(self):
        self._run(self.session.sync_with_coordinator())

    def close(self):
        s = getattr(self, "session", None)
        if s is not None and getattr(s, "pump_task", None) is not None:
            try:
                self._run(s.stop(), 10)
                self._run(s.close(), 10)
            except Exception:  # the coordinator may be gone already: nothing left to close
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    # -- places --------------------------------------------------------------------------------
    def places(self):
        """{name: {"tags", "acquired", "matches"}} as the coordinator has them."""
        self.sync()
        return {n: {"tags": dict(p.tags), "acquired": p.acquired,
                    "matches": ["/".join(x for x in (m.exporter, m.group, m.cls, m.name) if x)
                                for m in p.matches]}
                for n, p in self.session.places.items()}

    def resources(self):
        """{exporter: {group: {name: {"cls", "avail", "acquired", "params"}}}}."""
        self.sync()
        out = {}
        for exp, groups in self.session.resources.items():
            for g, res in groups.items():
                for n, r in res.items():
                    if not r.data.get("cls"):  # deleted (its exporter left)
                        continue
                    out.setdefault(exp, {}).setdefault(g, {})[n] = {
                        "cls": r.cls, "avail": r.avail, "acquired": r.acquired, "params": dict(r.args)}
        return out

    def ensure_places(self, spec):
        """Create the places of `spec` ({name: {"matches": [...], "tags": {...}}}) that are missing,
        add missing matches, set the tags. Returns the names created."""
        created = []
        have = self.places()
        for name, p in sorted(spec.items()):
            if name not in have:
                self._call("add_place", place=name)
                created.append(name)
                have[name] = {"matches": [], "tags": {}, "acquired": None}
            new = [m for m in p.get("matches", []) if m not in have[name]["matches"]]
            if new:
                self._call("add_match", place=name, patterns=new)
            tags = p.get("tags", {})
            if tags and tags != have[name]["tags"]:
                self._call("set_tags", place=name, tags=["%s=%s" % kv for kv in sorted(tags.items())])
        return created

    # -- reservations, acquire, release ----------------------------------------------------------
    def reserve(self, tags, count=1, timeout=60.0, prio=0.0):
        """Reserve `count` places having all `tags`: one labgrid reservation per place (the
        coordinator's reservations hold one filter group each), waited on until every one is
        allocated. Returns (tokens, [place names]); on failure the reservations made are cancelled."""
        from labgrid.remote.common import Reservation, ReservationState
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        stub = self.session.stub
        tokens = []
        try:
            for _ in range(count):
                req = pb.CreateReservationRequest(filters={"main": pb.Reservation.Filter(filter=dict(tags))},
                                                  prio=prio)
                try:
                    res = Reservation.from_pb2(self._run(stub.CreateReservation(req)).reservation)
                except Exception as e:
                    raise LabError("reservation refused: %s" % (e.details() if hasattr(e, "details") else e))
                tokens.append(res.token)
                self.tokens.append(res.token)
            deadline = time.monotonic() + timeout
            names = []
            for tok in tokens:
                while True:
                    r = Reservation.from_pb2(self._run(stub.PollReservation(pb.PollReservationRequest(token=tok)))
                                             .reservation)
                    if r.state is not ReservationState.waiting:
                        break
                    if time.monotonic() > deadline:
                        raise LabError("no %d free place(s) with tags %s within %.0f s" % (
                            count, ",".join("%s=%s" % kv for kv in sorted(tags.items())), timeout))
                    time.sleep(0.2)
                if r.state is not ReservationState.allocated:
                    raise LabError("reservation %s is %s" % (r.token, r.state.name))
                names += [n for group in r.allocations.values() for n in group]
        except BaseException:
            for tok in tokens:
                self.cancel(tok)
            raise
        return tokens, sorted(names)

    def cancel(self, token):
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        try:
            self._run(self.session.stub.CancelReservation(pb.CancelReservationRequest(token=token)))
        except Exception:  # already expired or gone with the coordinator
            pass
        if token in self.tokens:
            self.tokens.remove(token)

    def acquire(self, place):
        self._call("acquire", place=place, allow_unmatched=False)

    def release(self, place):
        """Release the place (also when its exporter is gone: the coordinator drops the orphans)."""
        self._call("release", place=place, kick=False)

    def acquired_by_me(self, place):
        self.sync()
        p = self.session.places.get(place)
        return bool(p and p.acquired == "%s/%s" % (self.session.gethostname(), self.session.getuser()))

    # -- ports -----------------------------------------------------------------------------------
    def exporter_of(self, place):
        p = self.session.places[place]
        return p.matches[0].exporter if p.matches else None

    def exporter_alive(self, exporter):
        self.sync()
        # a resource the coordinator deleted stays in the session with empty data
        groups = self.session.resources.get(exporter) or {}
        return any(r.data.get("cls") and r.data.get("avail") for g in groups.values() for r in g.values())

    def ports(self, place, timeout=20.0):
        """{uart name: "rfc2217://HOST:PORT"} of an acquired place, waiting until its exporter serves
        every matched serial resource."""
        deadline = time.monotonic() + timeout
        while True:
            self.sync()
            p = self.session.places.get(place)
            out, missing = {}, []
            try:
                res = self.session.get_target_resources(p)
            except self._Error as e:
                raise LabError("%s: %s" % (place, e))
            for (name, cls), r in res.items():
                if cls != "NetworkSerialPort":
                    continue
                a = r.data.get("params") or {}
                if r.data.get("avail") and a.get("port"):
                    proto = a.get("protocol", "rfc2217")
                    # ser2net under labgrid answers no modem-control requests: ign_set_control, as
                    # labgrid's own SerialDriver connects
                    out[name] = ("socket://%s:%d" % (a["host"], a["port"]) if proto == "raw" else
                                 "rfc2217://%s:%d?ign_set_control" % (a["host"], a["port"]))
                else:
                    missing.append(name)
            if out and not missing:
                return out
            if time.monotonic() > deadline:
                raise LabError("%s: exporter does not serve %s" % (place, ", ".join(missing) or "any UART"))
            time.sleep(0.1)
