"""Every DLMS (non-DER) RTDS use case addressed to the ESME, run in process against the firmware
role with its data model seeded to the corpus's values where a read returns data: the response
content (DLMS access-response: result codes and data) equals RTDS's (GBCS §7.2 use-case content;
shared/reference/usecases.md). Also the object model's two gates: a SET of the wrong DLMS type
answers type-unmatched, and a MAC-only command cannot reach an object a critical use case writes
(scope-of-access-violated, GBCS §6.2.4 authorisation)."""
import os
import tempfile

import pytest

from host_tools.gbcs import corpus as C
from host_tools.gbcs import runner

ESME = bytes.fromhex("00db1234567890a0")


@pytest.fixture(scope="module")
def rtds():
    try:
        top, ks = runner.locate()
    except Exception as e:  # noqa: BLE001 - UsageError: no corpus next to the project
        pytest.skip("RTDS corpus not available: %s" % e)
    return runner.use_cases(top, ESME), C.Keystore(ks), runner.role("esme")


class _Board:
    @staticmethod
    def time():
        return 1420070400


def _device(role, keys, root, vk):
    from firmware import roles
    from firmware.store.durable import Store

    st = Store(root)
    role.provision_store(st, keys, vk)
    return roles.build(role.name, _Board(), st, vk)


def _response_items(content):
    """[(kind, code, encoded data bytes)] of a DLMS access-response."""
    from firmware.gbcs import dlms

    b = bytes(content)
    n, p = dlms.read_len(b, 7, len(b))
    data = []
    for _ in range(n):
        q = p
        p = dlms.decode_at(b, p, len(b))[1]
        data.append(b[q:p])
    m, p = dlms.read_len(b, p, len(b))
    assert m == n and p + 2 * n == len(b)
    return [(b[p + 2 * i], b[p + 2 * i + 1], data[i]) for i in range(n)]


def _seed(dev, cmd, keys):
    """The values RTDS's SUCCESS response reads, written into the object store first (what the
    meter held when RTDS answered); for an encrypted read (IC 30 method 1) the values are the
    plaintext RTDS encrypted, decrypted with the recipient's published KA key (the runner's
    seeding, host_tools/gbcs/runner.py encrypted_read_seeds)."""
    from firmware.gbcs import dlms, frame
    from firmware.meter import objects

    req = dlms.parse_request(cmd.msg.content)
    items = _response_items(frame.parse(cmd.expected).content)
    o = objects.of(dev)
    for i, (kind, cid, obis, attr) in enumerate(req.specs):
        if kind in (dlms.GET, dlms.GET_WITH_SELECTION) and items[i][1] == 0:
            o.set(cid, obis, attr, items[i][2])
        elif kind == dlms.ACTION and cid == 30 and items[i][1] == 0:
            for c, ob, a, v in runner.encrypted_read_seeds(keys, dev.eui, req.data[i], items[i][2]):
                o.set(c, ob, a, v)


def _dlms_success(ucs):
    for uc in ucs:
        for cmd in uc.commands:
            if cmd.variant == "SUCCESS" and cmd.expected and cmd.msg.content[:1] == b"\xd9":
                yield uc, cmd


def _urp(cmd):
    """A command from an unknown remote party (its KA certificate in the supplementary fields):
    the encrypted read is keyed to that certificate, which this meter does not use."""
    return cmd.msg.supp_remote_id is not None and len(cmd.raw) > 400


def test_every_dlms_success_use_case_answers_like_rtds(rtds, tmp_path):
    ucs, keys, role = rtds
    vk = str(tmp_path / "vk")
    os.makedirs(vk)
    equal, differ, n = [], [], 0
    for uc, cmd in _dlms_success(ucs):
        n += 1
        dev = _device(role, keys, str(tmp_path / ("d%03d" % n)), vk)
        _seed(dev, cmd, keys)
        raw = bytes(dev.process(cmd.raw))
        ok, why, same, _ = runner.check(cmd, raw, role, keys)
        assert ok, (uc.name, cmd.name, why)
        (equal if same else differ).append((uc.name, cmd.name))
    assert n >= 140  # the DLMS SUCCESS commands to the ESME in RTDS 4.5.0
    wrong = [d for d in differ if not _urp(
        next(c for u in ucs if u.name == d[0] for c in u.commands if c.name == d[1]))]
    assert wrong == []
    assert len(differ) <= 1  # ECS21b URP


def _request(kind, cid, obis, attr, data):
    return (b"\xd9\x00\x00\x00\x01\x00\x01" + bytes((kind, cid >> 8, cid & 0xFF)) + obis
            + bytes((attr, 1)) + data)


class _Msg:
    def __init__(self, content, signature):
        self.content = content
        self.signature = signature
        self.originator = bytes.fromhex("90b3d51f30010000")
        self.counter = 1000
        self.message_code = 0x0043


class _Log:
    def __init__(self):
        self.entries = []

    def append(self, e):
        self.entries.append(e)


def _execute(dev, content, signed):
    from firmware.gbcs import parties

    log = _Log()
    out = dev.table.execute(dev, _Msg(content, b"\x01" * 64 if signed else b""), parties.SUPPLIER, log)
    return _response_items(out), log.entries


NON_DISABLEMENT = bytes.fromhex("00005e2c8007")  # IC 9000 0-0:94.44.128.7, ECS28a (critical)
CONTACT = bytes.fromhex("00005e2c000b")  # IC 1 0-0:94.44.0.11 (ECS46a, critical)
ALERT_BEHAVIOUR = bytes.fromhex("001e61620bff")  # IC 1 0-30:97.98.11.255 (ECS25a, non-critical)


def test_wrong_type_set_is_type_unmatched_and_stores_nothing(rtds, tmp_path):
    _, keys, role = rtds
    dev = _device(role, keys, str(tmp_path / "d"), str(tmp_path))
    from firmware.meter import objects

    # a4 of the non-disablement object is double-long-unsigned: a long-unsigned is refused
    items, _ = _execute(dev, _request(2, 9000, NON_DISABLEMENT, 4, b"\x12\x00\x05"), True)
    assert items == [(2, 12, b"\x00")]
    assert objects.of(dev).get(9000, NON_DISABLEMENT, 4) is None
    items, _ = _execute(dev, _request(2, 9000, NON_DISABLEMENT, 4, b"\x06\x00\x00\x00\x05"), True)
    assert items == [(2, 0, b"\x00")]
    # persisted: a rebuilt device reads it back byte for byte
    dev2 = _device(role, keys, str(tmp_path / "d"), str(tmp_path))
    assert objects.of(dev2).get(9000, NON_DISABLEMENT, 4) == b"\x06\x00\x00\x00\x05"
    # a visible-string contact field refuses an octet-string; a bit-string alert setting an integer
    items, _ = _execute(dev, _request(2, 1, CONTACT, 2, b"\x09\x01A"), True)
    assert items == [(2, 12, b"\x00")]
    items, _ = _execute(dev, _request(2, 1, ALERT_BEHAVIOUR, 2, b"\x11\x01"), False)
    assert items == [(2, 12, b"\x00")]
    items, _ = _execute(dev, _request(2, 1, ALERT_BEHAVIOUR, 2, b"\x04\x08\x80"), False)
    assert items == [(2, 0, b"\x00")]


def test_mac_only_command_cannot_reach_a_critical_object(rtds, tmp_path):
    _, keys, role = rtds
    dev = _device(role, keys, str(tmp_path / "d"), str(tmp_path))
    from firmware.meter import objects

    items, log = _execute(dev, _request(2, 9000, NON_DISABLEMENT, 4, b"\x06\x00\x00\x00\x05"), False)
    assert items == [(2, 13, b"\x00")]
    assert objects.of(dev).get(9000, NON_DISABLEMENT, 4) is None
    assert log and log[-1].startswith("scope")
    # the same for an ACTION (IC 112 credit: ECS04a) and a critical GET (IC 8 clock, ECS70)
    items, _ = _execute(dev, _request(3, 112, bytes.fromhex("0000130a00ff"), 1, b"\x05\x00\x00\x00\x01"),
                        False)
    assert items == [(3, 13, b"\x00")]
    items, _ = _execute(dev, _request(1, 8, bytes.fromhex("0000010000ff"), 2, b"\x00"), False)
    assert items == [(1, 13, b"\x00")]
    # a non-critical object is reachable MAC-only
    items, _ = _execute(dev, _request(1, 1, bytes.fromhex("001e61620fff"), 2, b"\x00"), False)
    assert items[0][:2] == (1, 0)


def test_undefined_and_denied_objects(rtds, tmp_path):
    _, keys, role = rtds
    dev = _device(role, keys, str(tmp_path / "d"), str(tmp_path))
    # an OBIS no use case addresses (class known, object not): object-undefined
    items, _ = _execute(dev, _request(1, 1, bytes.fromhex("00005e2cfefe"), 2, b"\x00"), False)
    assert items == [(1, 4, b"\x00")]
    # firmware version (ECS52) is read-only: a SET is read-write-denied
    items, _ = _execute(dev, _request(2, 1, bytes.fromhex("0000000201ff"), 2, b"\x09\x01\x00"), True)
    assert items == [(2, 3, b"\x00")]
