"""DLMS subset (firmware/gbcs/dlms.py; gbcs.md §7.1): A-XDR data, access-request / access-response.
Byte strings below are the annotated payloads of gbcs.md §7.2-§7.4 (ECS42, ECS45, ECS02) and the
get-with-selection request of RTDS ECS23."""
import _t
from firmware.alerts import Reject
from firmware.gbcs import dlms
from firmware.gbcs import dlms_client

ECS42_REQ = "d9200003e8000103000900000a006aff0101120033"
ECS45_REQ = "d9200003e80001010046000060030aff030100"
ECS02_REQ = ("d9200003ea000302006f0001130000ff0202006f0001130000ff0b02006f0001130000ff0d03020216011601"
             "0102020309060000130a00ff09060000131400ff0403e0020309060000130a00ff09060000131404ff0403e0"
             "090c0000000000000000008000ff")
ECS23_REQ = ("d9200003ea0006010003010020200004020100030100202000040301000301002024000402010003010020"
             "240004030400070100201800ff020102040204120001090600005e2c64ff0f02120000061c34a744061c374a"
             "8001000100070100201800ff0406000000000000")


def test_ecs42_request_decodes():
    r = dlms.parse_request(_t.unhex(ECS42_REQ))
    assert r.invoke_id == 0x200003E8 and r.date_time is None
    assert r.specs == [(dlms.ACTION, 9, _t.unhex("00000a006aff"), 1)]
    assert r.data == [(dlms.LONG_UNSIGNED, 51)]


def test_requests_rebuild_exactly():
    for h in (ECS42_REQ, ECS45_REQ, ECS02_REQ, ECS23_REQ):
        b = _t.unhex(h)
        r = dlms.parse_request(b)
        assert dlms_client.build_request(r.invoke_id, r.specs, r.data, r.date_time, r.selections) == b


def test_ecs02_data_values():
    r = dlms.parse_request(_t.unhex(ECS02_REQ))
    assert [s[3] for s in r.specs] == [2, 11, 13]
    assert r.data[0] == (dlms.STRUCTURE, [(dlms.ENUM, 1), (dlms.ENUM, 1)])
    arr = r.data[1][1]
    assert len(arr) == 2 and arr[1][1][1] == (dlms.OCTET_STRING, _t.unhex("0000131404ff"))
    assert arr[0][1][2] == (dlms.BIT_STRING, (3, b"\xe0"))
    assert r.data[2] == (dlms.OCTET_STRING, _t.unhex("0000000000000000008000ff"))


def test_get_with_selection():
    r = dlms.parse_request(_t.unhex(ECS23_REQ))
    assert [s[0] for s in r.specs] == [1, 1, 1, 1, 4, 1]
    sel, item = r.selections[4]
    assert sel == 1 and item[0] == dlms.STRUCTURE and len(item[1]) == 4
    assert r.selections[0] is None and r.data == [(0, None)] * 6


def test_responses_match_gbcs_examples():
    assert _t.hexs(dlms.build_response(0x200003E8, [(dlms.ACTION, 0, None)])) == "da200003e800000100010300"
    assert _t.hexs(dlms.build_response(0x200003E8, [(dlms.GET, 0, (dlms.ENUM, 1))])) == \
        "da200003e80000011601010100"
    b = dlms.build_response(0x200003EA, [(dlms.SET, 0, None)] * 3)
    assert _t.hexs(b) == "da200003ea0000030000000302000200020 0".replace(" ", "")
    inv, data, res = dlms_client.parse_response(b)
    assert inv == 0x200003EA and data == [(0, None)] * 3 and res == [(2, 0)] * 3


def test_all_scalar_types_round_trip():
    items = [(0, None), (3, True), (3, False), (5, -2), (5, 556677), (6, 0xFFFFFFFF), (9, b"abc"),
             (10, b"vis"), (15, -128), (16, -300), (17, 255), (18, 0xFFFF), (20, -(1 << 63)),
             (21, (1 << 64) - 1), (22, 7), (0x19, bytes(12)), (0x1A, bytes(5)), (0x1B, bytes(4)),
             (4, (12, b"\xab\xc0")), (1, [(18, 1), (18, 2)]), (2, [(9, bytes(200)), (2, [])]),
             (0x13, (_t.unhex("02020606"), bytes(16)))]
    for it in items:
        b = dlms.encode(it)
        assert dlms.decode(b) == it, it
    assert dlms.encode((9, bytes(200)))[:3] == b"\x09\x81\xc8"


def test_malformed_rejected():
    bad_data = ("", "13", "0901", "09020000aa", "7f00", "0102120001", "1200", "05000000",
                "0281", "0182000a", "040900")
    for h in bad_data:
        _t.raises(Reject, dlms.decode, _t.unhex(h))
    deep = b"\x02\x01" * 12 + b"\x00"
    _t.raises(Reject, dlms.decode, deep)
    req = _t.unhex(ECS42_REQ)
    for i in range(len(req)):
        _t.raises(Reject, dlms.parse_request, req[:i])
    for bad in (req + b"\x00", req[:5] + b"\x05" + req[6:], req[:7] + b"\x07" + req[8:],
                req[:17] + b"\x02" + req[18:]):
        _t.raises(Reject, dlms.parse_request, bad)
