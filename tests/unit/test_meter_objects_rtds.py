"""Encrypted reads (IC 30 data protection, method 1; GBCS payload encryption, KDF U=04, gbcs.md
§3.7) on the RTDS 4.5.0 ESME under both interpreters: the values RTDS encrypted (recovered here with
the device's own static ECDH secret) are put in the object store, and the ESME's response content is
byte-identical to RTDS's (ECS19 six registers; ECS20c two profile buffers). Skips when ../shared is
absent."""
MP_HEAPSIZE = "256K"  # the whole ESME stack compiled from source, as in test_gbcs_rtds.py

import _t
from firmware.core.trust import KA
from firmware.crypto import gcm
from firmware.crypto.gmac import gbcs_key
from firmware.gbcs import dlms, frame
from firmware.meter import objects
from test_gbcs_rtds import RtdsEsme, load


def _run(e, folder, name):
    cmd = load("%s/%s_COMMAND_GBCS.HEX" % (folder, name))
    exp = frame.parse(load("%s/%s_RESPONSE_GBCS.HEX" % (folder, name)))
    m = frame.parse(cmd)
    req = dlms.parse_request(m.content)
    param = req.data[0]
    descs = param[1][0][1]
    p = param[1][1][1][0][1][1][1]
    tid, party = p[0][1], p[1][1]
    # RTDS's response: item 0 = {parameters, 31 00000000 || ciphertext || tag}
    body = dlms.decode_at(exp.content, 8, len(exp.content))[0]
    enc = body[1][1][1]
    z = e.trust.z(e.trust.party_cell(party, KA))
    k = gbcs_key(z, e.eui, 4, tid[1:], party)
    pt = dlms.decode(gcm.decrypt(k, e.eui + b"\x00\x00\x00\x00", enc[5:-12], b"\x31", enc[-12:]))
    assert len(pt[1]) == len(descs)
    o = objects.of(e)
    for d, v in zip(descs, pt[1]):
        o.set(d[1][0][1], d[1][1][1], d[1][2][1], dlms.encode(v))
    r = frame.parse(e.process(cmd))
    return bytes(r.content), bytes(exp.content)


def test_ecs19_encrypted_register_read_byte_identical():
    with RtdsEsme() as e:
        got, exp = _run(e, "4.3_ECS19", "ECS19_4.3_SUCCESS")
        assert got == exp


def test_ecs20c_two_profile_buffers_byte_identical():
    with RtdsEsme() as e:
        got, exp = _run(e, "4.4.3_ECS20c", "ECS20c_4.4.3_SINGLE_SUCCESS")
        assert got == exp


def test_without_the_values_the_ciphertext_differs():
    """The answer is computed from the store, not replayed: an empty store gives other bytes."""
    with RtdsEsme() as e:
        cmd = load("4.3_ECS19/ECS19_4.3_SUCCESS_COMMAND_GBCS.HEX")
        exp = frame.parse(load("4.3_ECS19/ECS19_4.3_SUCCESS_RESPONSE_GBCS.HEX"))
        r = frame.parse(e.process(cmd))
        assert r.content != exp.content
        assert r.content[-2:] == b"\x03\x00"  # the ACTION still succeeds
