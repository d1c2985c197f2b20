"""docs/extending.md stays true: its `example:` code blocks (a role and a transport) are loaded as
modules, the role is built through the role registry from a store provisioned as the RTDS ESME, and
a genuine RTDS ECS45 command travels through the example transport over an in-memory stream to the
role and back; the response verifies on the host with `cryptography`, and a replay and a command for
another device are refused with their GBCS alert codes. Skips when ../shared (RTDS) is absent."""
import os
import re
import sys
import types

import pytest

from host_tools.gbcs import corpus as R

pytestmark = pytest.mark.skipif(not R.available(), reason="../shared RTDS corpus not present")

from firmware import alerts, roles  # noqa: E402
from firmware.gbcs import dlms_client, frame  # noqa: E402
from firmware.store.durable import Store  # noqa: E402
from host_tools.gbcs import verify as V  # noqa: E402

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "extending.md")
ECS45 = "7.4_ECS45/ECS45_7.4_SUCCESS_COMMAND_GBCS.HEX"
ECS42 = "7.1_ECS42/ECS42_7.1_SUCCESS_COMMAND_GBCS.HEX"


def examples():
    """{path named in the block's first line: source} for every ```python block marked `example:`."""
    text = open(DOC).read()
    out = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        first = block.splitlines()[0]
        if first.startswith("# example: "):
            out[first[len("# example: "):].strip()] = block
    return out


def load(modname, source):
    m = types.ModuleType(modname)
    m.__file__ = "<docs/extending.md %s>" % modname
    exec(compile(source, m.__file__, "exec"), m.__dict__)
    sys.modules[modname] = m
    return m


class Stream:
    """In-memory stream with the any/read/write of a UART."""

    def __init__(self):
        self.rx = bytearray()
        self.tx = bytearray()

    def any(self):
        return len(self.rx)

    def read(self, n):
        b = bytes(self.rx[:n])
        del self.rx[:n]
        return b

    def write(self, b):
        self.tx.extend(b)


@pytest.fixture()
def example_role(tmp_path, monkeypatch):
    ex = examples()
    assert set(ex) == {"firmware/roles/example.py", "firmware/example_transport.py"}
    load("firmware.roles.example", ex["firmware/roles/example.py"])
    tr = load("firmware.example_transport", ex["firmware/example_transport.py"])
    monkeypatch.setitem(roles.REGISTRY, "example", "firmware.roles.example")
    st = Store(str(tmp_path / "store"))
    R.provision_rtds_esme(st)
    yield roles.build("example", None, st), tr, st
    for m in ("firmware.roles.example", "firmware.example_transport"):
        sys.modules.pop(m, None)


def frame_of(msg):
    return bytes((len(msg) >> 8, len(msg) & 0xFF)) + msg


def test_example_role_and_transport_answer_rtds_ecs45(example_role):
    role, tr, st = example_role
    assert role.name == "example" and role.eui == R.ESME_EUI
    s = Stream()
    link = tr.LengthPrefixed(s, role)
    cmd = R.load_hex(os.path.join(R.RTDS, ECS45))
    s.rx.extend(frame_of(cmd)[:7])  # half a frame: nothing yet
    link.poll()
    assert s.tx == b""
    s.rx.extend(frame_of(cmd)[7:])
    link.poll()
    n = (s.tx[0] << 8) | s.tx[1]
    resp = bytes(s.tx[2:2 + n])
    assert len(resp) == n
    m = frame.parse(resp)
    assert m.cra == frame.CRA_RESPONSE and m.counter == frame.parse(cmd).counter
    # non-critical: MAC'd with the device KA key x the RTDS supplier's KA key (host-side check)
    ks = R.keystore()
    assert V.verify_mac(m, ks.private_key(m.recipient.hex() + "-ka"), ks.device_pub(R.ESME_EUI, "ka"))
    _, data, results = dlms_client.parse_response(m.content)
    assert [r for _, r in results] == [0] and data == [(22, 1)]  # enum 1: connected

    # the same command again is a replay (0x8F60), refused by the core and logged
    s.tx.clear()
    s.rx.extend(frame_of(cmd))
    link.poll()
    assert bytes(s.tx) == bytes((0, 2, 0x8F, 0x60))
    assert st.log("seclog").entries()[-1].startswith("replay 8F60")
    # a critical command for an object this role does not have is authenticated, then answered
    # object-undefined; a command for another device is refused (0x8F3E)
    other = bytearray(R.load_hex(os.path.join(R.RTDS, ECS42)))
    i = bytes(other).find(R.ESME_EUI)
    other[i + 7] ^= 1
    s.tx.clear()
    s.rx.extend(frame_of(bytes(other)))
    link.poll()
    assert bytes(s.tx) == bytes((0, 2, alerts.UNAUTHORISED_ACCESS >> 8, alerts.UNAUTHORISED_ACCESS & 0xFF))


def test_transport_drops_an_oversized_frame(example_role):
    role, tr, _ = example_role
    s = Stream()
    link = tr.LengthPrefixed(s, role)
    s.rx.extend(b"\xff\xff" + b"\x00" * 10)
    link.poll()
    assert s.tx == b"" and link.buf == bytearray()
