"""The hub's WAN endpoint: a TCP listener carrying raw GBCS messages in the framing of
firmware/wan/framing.py (docs/wan.md §1). Non-blocking: poll() accepts, reads what is
waiting and flushes what is queued, never waits. On a virtual board the listener is on loopback at
the port of the board's wan.json; on the ESP32 on the Wi-Fi interface (board.esp32, compile-checked,
not run on hardware).

    ep = Endpoint(host, port)
    for conn, kind, msg in ep.poll(): ...        # complete messages received
    ep.send(conn, msg) / ep.refuse(conn, code)   # answer in the form the client used
    ep.broadcast(msg)                            # an alert to every connected client
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.wan import framing

MAX_CLIENTS = const(4)
MAX_OUT = const(16384)  # bytes queued for one client before it is dropped (it stopped reading)
_CHUNK = const(1024)


def _fd(obj):
    """poll() gives the registered object (MicroPython) or its descriptor (CPython)."""
    return obj if isinstance(obj, int) else obj.fileno()


class Conn:
    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.rx = framing.Deframer()
        self.out = b""
        self.kind = framing.BINARY  # the form this client last used
        self.closed = False


class Endpoint:
    def __init__(self, host, port, max_clients=MAX_CLIENTS, watch=None, unwatch=None):
        import select
        import socket

        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(socket.getaddrinfo(host, port)[0][-1])
        s.listen(2)
        s.setblocking(False)
        self.sock = s
        self.port = port
        self.max_clients = max_clients
        self.conns = []
        self._poll = select.poll()
        self._poll.register(s, select.POLLIN)
        self._select = select
        # the board's wake-up hooks (board.watch / board.unwatch): input on a socket ends the
        # application loop's idle wait at once
        self._watch = watch
        self._unwatch = unwatch
        if watch is not None:
            watch(s)

    def close(self):
        for c in list(self.conns):
            self._drop(c)
        if self._unwatch is not None:
            self._unwatch(self.sock)
        self.sock.close()

    def _drop(self, c):
        if not c.closed:
            c.closed = True
            try:
                self._poll.unregister(c.sock)
            except (OSError, KeyError, ValueError):
                pass  # never registered or already gone: nothing left to undo
            if self._unwatch is not None:
                self._unwatch(c.sock)
            c.sock.close()
        if c in self.conns:
            self.conns.remove(c)

    def poll(self):
        """[(conn, kind, message)] received since the last call."""
        got = []
        ready = self._poll.poll(0)
        if not ready and not self._pending_out():
            return got
        for obj, ev in ready:
            if _fd(obj) == self.sock.fileno():
                self._accept()
                continue
            c = self._conn_of(obj)
            if c is None:
                continue
            if ev & (self._select.POLLHUP | self._select.POLLERR) and not ev & self._select.POLLIN:
                self._drop(c)
                continue
            self._read(c, got)
        for c in list(self.conns):
            if c.out:
                self._flush(c)
        return got

    def _pending_out(self):
        for c in self.conns:
            if c.out:
                return True
        return False

    def _conn_of(self, obj):
        fd = _fd(obj)
        for c in self.conns:
            if c.sock.fileno() == fd:
                return c
        return None

    def _accept(self):
        try:
            sock, addr = self.sock.accept()
        except OSError:  # EAGAIN: the client went away before we accepted
            return
        if len(self.conns) >= self.max_clients:
            sock.close()  # full: the newest caller is turned away, established clients keep going
            return
        sock.setblocking(False)
        c = Conn(sock, addr)
        self.conns.append(c)
        self._poll.register(sock, self._select.POLLIN)
        if self._watch is not None:
            self._watch(sock)

    def _read(self, c, got):
        try:
            data = c.sock.recv(_CHUNK)
        except OSError:  # EAGAIN (spurious readiness) or a reset connection
            return
        if not data:
            self._drop(c)
            return
        try:
            c.rx.feed(data)
            while True:
                m = c.rx.next()
                if m is None:
                    break
                c.kind = m[0]
                got.append((c, m[0], m[1]))
        except Reject as e:
            self.refuse(c, e.code or framing.INTEGRITY)
            self._flush(c)
            self._drop(c)

    def _queue(self, c, data):
        if c.closed:
            return
        if len(c.out) + len(data) > MAX_OUT:
            self._drop(c)
            return
        c.out += data
        self._flush(c)

    def _flush(self, c):
        try:
            n = c.sock.send(c.out)
        except OSError as e:
            if e.args and e.args[0] == 11:  # EAGAIN: the client's window is full, try next poll
                return
            self._drop(c)
            return
        c.out = c.out[n:] if n else c.out

    def send(self, c, msg):
        self._queue(c, framing.encode(c.kind, msg))

    def refuse(self, c, code):
        self._queue(c, framing.alert(c.kind, code))

    def broadcast(self, msg):
        for c in list(self.conns):
            self.send(c, msg)

    def clients(self):
        return len(self.conns)
