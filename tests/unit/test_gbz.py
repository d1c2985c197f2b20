"""The GBZ codec (firmware/gbcs/gbz.py; GBCS §7.2.10, shared/reference/gas.md §1) on RTDS byte
fixtures: a GCS32 valve-close command field by field, the 12-component GCS05 with a From Date Time,
the generic and future-dated alert bodies, an encrypted GPF read response decrypted with the key
gas.md §2.3 derives and sealed again byte-identically, the failure pattern, and malformed input
refused with 0x8F1E. Runs under CPython and MicroPython."""
import _t
from firmware.alerts import Reject, INTEGRITY_FAILED
from firmware.gbcs import gbz as Z
from firmware.gbcs import gbzinfo as I

GCS32 = _t.unhex("010901010702001501000b00000000804a371c00000000000000000001")
GCS05 = _t.unhex(
    "01090c0007050013010003804a371c0000000080969800a0860100000705001301010c00000000804a371c000000"
    "00a0860100100705000b00000000010209404b4c00000705001701030b00000000804a371c0000000040787d0140"
    "787d01000707001909040000000000804a371c804a371c00000000030000020203000707001d0905010000000080"
    "4a371c804a371c0103000103000001e00100380401000707001d09060100000000804a371c804a371c0203000103"
    "000001a40100fc0301000707001709070100000000804a371c804a371c0301000103000001000707001709080200"
    "000000804a371c804a371c0101010101010303000707001709090200000000804a371c804a371c02020202020203"
    "03000707001b090a0300000000804a371c804a371c0001720a1bff0173031dff02010707002b090b040000000080"
    "4a371c804a371c0000000003040001730405ff0173081fff02ff0101ff03ff0c19ff01")
GCS13A_GPF_RSP = _t.unhex(
    "01090103070200350000180001002e310000000091901c6bcfe6ceb6dce66f5ed7e43326950eada69ea8a4b33bf6"
    "0ecf4b419fe4b34b5296381d9c7ce1")
K_GCS13A = _t.unhex("22064a3c6e3f1a25f090993bbcb598b9")
GPF = _t.unhex("00db1234567890a3")
PT_GCS13A = _t.unhex("02030022e8030001030022010000000300300100000025393000000000")
ALERT_8F66 = _t.unhex("0109018f66388188900e006c00000000000003e907050106")
ALERT_810E = _t.unhex("010900810e1c374a80")


def test_gcs32_command_field_by_field_and_rebuilt():
    g = Z.parse(GCS32)
    assert len(g.components) == 1
    c = g.components[0]
    assert (c.cluster, c.fc, c.seq, c.cmd) == (0x0702, 0x01, 0, 0x0B)
    assert c.fdt is None and not c.encrypted
    assert c.payload[16] == 0 and c.payload[17] == 1  # proposed status OFF, control bits
    assert Z.le(c.payload, 4, 4) == 0x1C374A80  # issuer event id, little-endian
    assert Z.build(g) == GCS32


def test_gcs05_from_date_time_and_last_bits():
    g = Z.parse(GCS05)
    assert len(g.components) == 12
    assert [c.seq for c in g.components] == list(range(12))
    assert g.components[2].fdt == 0 and g.components[2].cmd == 0x09
    assert [c.cluster for c in g.components].count(0x0707) == 8
    assert Z.build(g) == GCS05
    bad = bytearray(GCS05)
    bad[3] = 0x01  # last-component bit on the first of twelve
    e = _t.raises(Reject, Z.parse, bytes(bad))
    assert e.code == INTEGRITY_FAILED


def test_alert_bodies():
    g = Z.parse(ALERT_8F66, 0x00CD, alert=True)
    assert g.alert == 0x8F66 and g.time == 0x38818890
    assert g.records == [_t.unhex("006c00000000000003e907050106")]
    assert Z.build(g) == ALERT_8F66
    g = Z.parse(ALERT_810E, 0x1001, alert=True)
    assert (g.alert, g.time, g.components) == (0x810E, 0x1C374A80, [])
    assert Z.build(g) == ALERT_810E


def test_encrypted_component_decrypts_and_seals_identically():
    g = Z.parse(GCS13A_GPF_RSP)
    c = g.components[0]
    assert c.encrypted and (c.ah_ctl, c.ah_ctr) == (0, 0) and (c.fc, c.cmd) == (0x18, 0x01)
    assert I.unseal(K_GCS13A, GPF, c.payload) == PT_GCS13A
    recs = I.attribute_records(PT_GCS13A)
    assert [(a, t) for a, _, t, _ in recs] == [(0x0302, 0x22), (0x0301, 0x22), (0x0300, 0x30), (0x0000, 0x25)]
    assert Z.le(recs[3][3], 0, 6) == 12345
    assert Z.seal(K_GCS13A, GPF, PT_GCS13A) == c.payload
    assert Z.build(g) == GCS13A_GPF_RSP


def test_failure_pattern():
    cmd = Z.parse(GCS05).components
    done = [Z.Component(0x0705, 0x08, 0, 0x0B, b"\x03\x00")]
    out = I.failed(cmd, 1, done)
    assert len(out) == 12
    assert out[1].payload == b"\x0c\xc0" and out[1].fc == 0x08
    assert all(o.payload == b"\xff\x01" for o in out[2:])
    assert out[5].fc == 0x00  # reply to a server->client Calendar publish
    assert Z.build(Z.Gbz(out))[3:8] == _t.unhex("0007050005")


def test_malformed_refused():
    for bad in (GCS32[:-1], b"\x01\x0a" + GCS32[2:], GCS32 + b"\x00", GCS32[:3] + b"\x41" + GCS32[4:]):
        e = _t.raises(Reject, Z.parse, bad)
        assert e.code == INTEGRITY_FAILED
