"""ZigBee install codes (CRC-16/X-25, byte order), AES-MMO (ZigBee spec C.5) and HMAC-MMO;
vectors from shared/reference/han.md §1-2."""
import _t
from firmware.alerts import Reject
from firmware.crypto import zigbee as z

U = _t.unhex


def test_crc16_x25_check():
    assert z.crc16_x25(b"123456789") == 0x906E
    assert z.crc16_x25(b"") == 0x0000


def test_install_code_crc_byte_order():
    cases = [
        ("1122334455667788", 0xF74A),
        ("83FED3407A939738", 0x52C5),
        ("7A939723A5C639B269161802", 0x9B81),
        ("83FED3407A939723A5C639B269161802", 0xBBAE),
        ("83FED3407A939723A5C639B26916D505", 0xB5C3),
        ("EE917C25E94123C227B93F4D50A0C34F", 0x3D37),
        ("30313233343536373839414243444546", 0x96F5),
        ("F6F1913D834A08D6ADAF1F91BAF4052D", 0x7316),
    ]
    for code, crc in cases:
        c = U(code)
        assert z.crc16_x25(c) == crc, code
        assert z.install_code_crc_bytes(c) == bytes((crc & 0xFF, crc >> 8))
        wire = c + bytes((crc & 0xFF, crc >> 8))
        assert z.check_install_code(wire) == c
        shown = c + bytes((crc >> 8, crc & 0xFF))  # CRC printed MSB first (Digi style)
        if shown != wire:
            _t.raises(Reject, z.check_install_code, shown)
        assert z.check_install_code(shown, display_order=True) == c


def test_install_code_rejects():
    _t.raises(Reject, z.check_install_code, U("1122334455667788") + b"\x00\x00")
    _t.raises(Reject, z.check_install_code, bytes(9))
    _t.raises(Reject, z.install_code_crc_bytes, bytes(7))


def test_aes_mmo_spec_vectors():
    assert z.aes_mmo(U("C0")) == U("AE3A102A28D43EE0D4A09E22788B206C")
    assert z.aes_mmo(bytes(range(0xC0, 0xD0))) == U("A7977E88BC0B61E8210827109A228F2D")


def test_aes_mmo_long_forms():
    data = bytes(i & 0xFF for i in range(8202))
    assert z.aes_mmo(data[:8191]) == U("24EC2FE75BBFFCB34789BC0610E7F165")
    assert z.aes_mmo(data[:8192]) == U("DC6B0687F09F8607131C170B3BD31591")
    assert z.aes_mmo(data[:8201]) == U("72C9B15E178AA843E4A16C58E33643A3")
    assert z.aes_mmo(data) == U("BC9828D59B2AA323DAF20BE5F2E66511")


def test_install_code_link_keys():
    cases = [
        ("1122334455667788", "41618FC0C83B0E14A589954B16E31466"),
        ("83FED3407A939738", "A833A77434F3BFBD7A7AB97942149287"),
        ("7A939723A5C639B269161802", "F93903721685FD329D26849B90F2959A"),
        ("83FED3407A939723A5C639B269161802", "333C23686079468EB27BA24BD9C7E564"),
        ("83FED3407A939723A5C639B26916D505", "66B6900981E1EE3CA4206B6B861C02BB"),
        ("EE917C25E94123C227B93F4D50A0C34F", "4C23A848A76F432113510A301C5FDFD2"),
        ("30313233343536373839414243444546", "17E92CAAA342C367E8EDDC58EEBA69ED"),
    ]
    for code, key in cases:
        c = U(code)
        assert z.install_code_link_key_without_crc(c) == U(key), code
        assert z.install_code_link_key(c + z.install_code_crc_bytes(c)) == U(key)
        # the explicit forms: a code without CRC is not accepted where the CRC is required
        _t.raises(Reject, z.install_code_link_key, c)


def test_install_code_every_length_with_crc():
    # 6-byte code 09bfad1ea5a3 with its CRC 0x1C6E (wire bytes 6e 1c): 8 bytes that an implicit
    # form took for an 8-byte code without CRC. The key is AES-MMO of the 8 wire bytes.
    six = U("09bfad1ea5a3")
    assert z.crc16_x25(six) == 0x1C6E
    wire = six + U("6e1c")
    key = z.install_code_link_key(wire)
    assert key == z.aes_mmo(wire)
    assert key == z.install_code_link_key_without_crc(six)
    assert key == U("20984426DF65FBB0C00247D8975FFDDC")
    # the 8 bytes read as an 8-byte code without CRC give a different key (the old bug)
    assert z.install_code_link_key_without_crc(wire) != key
    # display order (CRC most-significant byte first) only when asked for
    _t.raises(Reject, z.install_code_link_key, six + U("1c6e"))
    assert z.install_code_link_key(six + U("1c6e"), display_order=True) == key
    for n in (6, 8, 12, 16):
        code = bytes((0xA5 ^ (i * 7)) & 0xFF for i in range(n))
        w = code + z.install_code_crc_bytes(code)
        assert len(w) == n + 2
        k = z.install_code_link_key(w)
        assert k == z.aes_mmo(w) == z.install_code_link_key_without_crc(code)
        bad = w[:-1] + bytes((w[-1] ^ 1,))
        _t.raises(Reject, z.install_code_link_key, bad)
    for n in (0, 5, 7, 9, 11, 13, 15, 17):
        _t.raises(Reject, z.install_code_link_key_without_crc, bytes(n))
    for n in (0, 7, 9, 11, 12, 13, 16, 17, 19):
        _t.raises(Reject, z.install_code_link_key, bytes(n))


def test_key_transport_and_load_keys():
    # han.md §3: ZigBeeAlliance09 and the zbtk install-code key
    assert z.key_transport_key(b"ZigBeeAlliance09") == U("4BAB0F173E1434A2D572E1C1EF478782")
    assert z.key_load_key(b"ZigBeeAlliance09") == U("C5A47035C332CCBF251571D8BADED188")
    lk = U("4C23A848A76F432113510A301C5FDFD2")
    assert z.key_transport_key(lk) == U("364478502081DE79CF903260A0C09D45")
    assert z.key_load_key(lk) == U("5F4CCC59ABC71A1AA2C73866BB210CAF")


def test_hmac_mmo_vectors():
    # ZigBee spec C.6.1 (key 40..4F, message C0); second: a Zigbee Direct KC_2_U example
    # (Silicon Labs sl_zb_sec_man_hmac_aes_mmo, as quoted in geoffrey-vl/c-crumbs tests)
    assert z.hmac_mmo(bytes(range(0x40, 0x50)), U("C0")) == U("4512807BF94CB3400F0E2C25FB76E999")
    m = U("4B435F325F55FED54BFEFFE20A688AAB84A7D94E8DE6F06F2EEF3270F845BD5CFA776EDCEE627975"
          "959651C6E818000000FEFF000002E385F382FDD8D176D629E19A5F28C590E0C8B5807019DE3EEEC0064C872CD359")
    assert z.hmac_mmo(U("4AD31EB7977D55D11070504195B7FA08"), m) == U("411562A5BE3EDBCE034CBD7C715290C7")


def test_hmac_mmo_structure():
    # HMAC-MMO = MMO((K ^ opad) || MMO((K ^ ipad) || m)) with a 16-byte block
    key = U("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    m = b"\xc0"
    assert z.hmac_mmo(key, m) == z.aes_mmo(opad + z.aes_mmo(ipad + m))
    assert z.hmac_mmo(key, m) != z.hmac_mmo(key, b"\xc1")
    # keys shorter than the block are zero-padded, longer ones hashed first
    assert z.hmac_mmo(key[:8], m) == z.hmac_mmo(key[:8] + bytes(8), m)
    assert z.hmac_mmo(key + b"x", m) == z.hmac_mmo(z.aes_mmo(key + b"x"), m)
