"""An in-memory HAN medium for tests and in-process benches: every frame one radio sends is
queued at every other radio of the same MemAir (a shared 2.4 GHz channel without loss), and
recorded in `frames` as (sender index, psdu) when `record` is set. Same radio interface as
board.radio(): send(psdu), recv() -> psdu or None."""


class MemRadio:
    def __init__(self, air, index):
        self.air = air
        self.index = index
        self.q = []

    def send(self, psdu):
        psdu = bytes(psdu)
        if len(psdu) > 127:
            raise ValueError("PSDU longer than 127 bytes")
        self.air._send(self.index, psdu)

    def recv(self):
        return self.q.pop(0) if self.q else None


class MemAir:
    def __init__(self, record=False):
        self.radios = []
        self.frames = [] if record else None
        self.down = set()  # radios powered off: they neither send nor receive

    def radio(self):
        r = MemRadio(self, len(self.radios))
        self.radios.append(r)
        return r

    def _send(self, index, psdu):
        if index in self.down:
            return
        if self.frames is not None:
            self.frames.append((index, psdu))
        for r in self.radios:
            if r.index != index and r.index not in self.down:
                r.q.append(psdu)

    def pending(self):
        return sum(len(r.q) for r in self.radios)
