"""The ESME's ZCL attribute server (firmware/han/zclserver.py) and the IHD's reading of its answers
(firmware/han/ihd.py), byte for byte: Read Attributes on Metering 0x0702 / Prepayment 0x0705
answered from the meter's model (ZCL 07-5123 §2.5.1-2), UNSUPPORTED_ATTRIBUTE (0x86) for what it
does not have, Default Responses for other commands, refusals of untrusted senders and malformed
frames; the IHD's typed rejection of every bad answer and its display line."""
import _t
from firmware.alerts import Reject
from firmware.han import ihd, zclserver as S

HUB = bytes.fromhex("02534d4c01030001")
IHD = bytes.fromhex("02534d4c01060001")
OTHER = bytes.fromhex("02534d4c01060099")


class _Store:
    def __init__(self, recs):
        self.recs = recs

    def get_json(self, k, default=None):
        return self.recs.get(k, default)


class _Engine:
    def __init__(self):
        self.r = {"ai": 1234567, "ae": 42, "tou": [10, 20, 30, 40], "t": 0}
        self.load = lambda t: 500
        self.acc = (1234, 0, 0)

    def accounts(self):
        return self.acc


class _Model:
    supply = "connected"


class _Role:
    name = "esme"

    def __init__(self):
        self.store = _Store({"han": {"tc": HUB.hex()}, "devlog": [[IHD.hex(), 6]]})
        self.meter = _Engine()
        self.model = _Model()


def test_read_metering_bytes():
    req = bytes.fromhex("00" "07" "00" "0000" "0004" "0003" "0103" "0203" "3412")
    assert req == ihd.request(7, (0x0000, 0x0400, 0x0300, 0x0301, 0x0302, 0x1234))
    out = S.answer(_Role(), IHD, 0x0702, req)
    assert out == bytes.fromhex(
        "18" "07" "01"
        "0000" "00" "25" "87d612000000"   # CurrentSummationDelivered uint48 1234567 Wh
        "0004" "00" "2a" "f40100"         # InstantaneousDemand int24 500 W
        "0003" "00" "30" "00"             # UnitOfMeasure kWh
        "0103" "00" "22" "010000"         # Multiplier 1
        "0203" "00" "22" "e80300"         # Divisor 1000
        "3412" "86")                      # unknown: UNSUPPORTED_ATTRIBUTE


def test_read_prepayment_bytes_and_signs():
    role = _Role()
    req = ihd.request(9, (0x0001, 0x0003))
    assert S.answer(role, HUB, 0x0705, req) == bytes.fromhex("18" "09" "01" "0100" "00" "2b" "50d41200" "0300" "86")
    role.meter.acc = (-50, 500, 0)
    assert S.answer(role, IHD, 0x0705, ihd.request(1, (0x0001, 0x0002))) == bytes.fromhex(
        "18" "01" "01" "0100" "00" "2b" "b03cffff" "0200" "00" "2b" "20a10700")
    role.meter.load = lambda t: -1200  # export: negative demand
    out = S.answer(role, IHD, 0x0702, ihd.request(2, (0x0400,)))
    assert out == bytes.fromhex("18" "02" "01" "0004" "00" "2a" "50fbff")
    role.model.supply = "disconnected"  # no supply, no demand
    out = S.answer(role, IHD, 0x0702, ihd.request(3, (0x0400, 0x0014)))
    assert out == bytes.fromhex("18" "03" "01" "0004" "00" "2a" "000000" "1400" "00" "30" "00")


def test_other_commands_default_response():
    role = _Role()
    # cluster-specific command (GetProfile 0x00): UNSUP_CLUSTER_COMMAND
    assert S.answer(role, IHD, 0x0702, bytes.fromhex("01" "05" "00")) == bytes.fromhex("18" "05" "0b" "00" "81")
    # global Write Attributes (0x02): UNSUP_GENERAL_COMMAND
    assert S.answer(role, IHD, 0x0702, bytes.fromhex("00" "06" "02" "0000" "25" "000000000000")) == bytes.fromhex(
        "18" "06" "0b" "02" "82")
    # the same with "disable default response": nothing
    assert S.answer(role, IHD, 0x0702, bytes.fromhex("10" "06" "02")) is None
    # a response sent to the meter (server to client): nothing
    assert S.answer(role, IHD, 0x0702, bytes.fromhex("18" "06" "01" "0000" "86")) is None


def test_refusals():
    role = _Role()
    e = _t.raises(Reject, S.answer, role, OTHER, 0x0702, ihd.request(1, (0,)))
    assert e.reason == "untrusted"
    for bad in (b"\x00\x01", bytes.fromhex("00" "01" "00" "00"), bytes.fromhex("00" "01" "00"),
                bytes.fromhex("e0" "01" "00" "0000"), ihd.request(1, tuple(range(17)))):
        e = _t.raises(Reject, S.answer, role, IHD, 0x0702, bad)
        assert e.reason == "format", bad
    role.meter.acc = (1 << 40, 0, 0)  # a balance beyond int32
    assert _t.raises(Reject, S.answer, role, IHD, 0x0705, ihd.request(1, (1,))).reason == "range"


def test_ihd_reads_answers():
    role = _Role()
    m = ihd.parse_response(S.answer(role, IHD, 0x0702, ihd.request(4, ihd.METER_IDS)), 4, ihd.METER_IDS)
    p = ihd.parse_response(S.answer(role, IHD, 0x0705, ihd.request(5, ihd.PREPAY_IDS)), 5, ihd.PREPAY_IDS)
    assert m == {0x0000: 1234567, 0x0400: 500, 0x0300: 0, 0x0301: 1, 0x0302: 1000} and p == {1: 1234000}
    assert ihd.text(m, p) == "IHD BAL 12.34 KWH 1234.567 W 500"
    role.meter.acc = (-50, 0, 0)
    p = ihd.parse_response(S.answer(role, IHD, 0x0705, ihd.request(6, ihd.PREPAY_IDS)), 6, ihd.PREPAY_IDS)
    assert ihd.text(m, p) == "IHD BAL -0.50 KWH 1234.567 W 500"


def test_ihd_rejects_bad_answers():
    good = S.answer(_Role(), IHD, 0x0705, ihd.request(5, ihd.PREPAY_IDS))
    cases = [
        (good[:-1], "format"),                                   # value truncated
        (good[:5], "format"),                                    # record truncated
        (bytes((good[0], 6)) + good[2:], "format"),              # another sequence number
        (bytes((0x10,)) + good[1:], "format"),                   # client-to-server direction
        (bytes.fromhex("18" "05" "01" "0100" "86"), "refused"),  # the meter refused the attribute
        (bytes.fromhex("18" "05" "0b" "00" "81"), "refused"),    # Default Response
        (bytes.fromhex("18" "05" "01" "0100" "00" "23" "50d41200"), "format"),  # another type
        (bytes.fromhex("18" "05" "01" "0200" "00" "2b" "50d41200"), "format"),  # not asked for
        (bytes.fromhex("18" "05" "01"), "format"),               # attribute missing
        (bytes.fromhex("18" "05" "02" "00"), "format"),          # another command
        (b"\x18", "format"),                                     # header truncated
    ]
    for frame, reason in cases:
        e = _t.raises(Reject, ihd.parse_response, frame, 5, ihd.PREPAY_IDS)
        assert e.reason == reason, (frame, e.reason, e.detail)
    m = {0x0000: 1, 0x0400: 1, 0x0300: 1, 0x0301: 1, 0x0302: 1000}  # a unit other than kWh
    assert _t.raises(Reject, ihd.text, m, {1: 0}).reason == "format"
