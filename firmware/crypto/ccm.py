"""AES-CCM* (IEEE 802.15.4-2006 Annex B, ZigBee spec Annex A): CCM with a 13-byte nonce (L = 2),
MIC lengths 0, 4, 8 or 16 (M = 0 is CCM*'s encryption-only mode). ZigBee security level 5
(ENC-MIC-32, the only level ZigBee PRO uses) is mic_len = 4.

Authentication: B0 = flags || nonce || l(m) (flags = 64*Adata + 8*((M-2)/2) + (L-1), M-field 0
when M = 0), then l(a) as 2 bytes and a zero-padded, then m zero-padded, CBC-MAC under the key.
Encryption: counter blocks A_i = (L-1) || nonce || i (16-bit), C = m xor E(A_1..), and the tag
U = T xor E(A_0)[:M]. A MIC that does not verify is Reject("mic", INTEGRITY_FAILED) (constant-time
compare); no plaintext is returned then.
"""
from firmware.alerts import Reject, INTEGRITY_FAILED
from firmware.crypto.aes import AES
from firmware.crypto.ct import equal

MIC_LENGTHS = (0, 4, 8, 16)


def _xor16(a, b):
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(16, "big")


def _check(nonce, mic_len, n):
    if len(nonce) != 13:
        raise Reject("format", None, "CCM* nonce must be 13 bytes")
    if mic_len not in MIC_LENGTHS:
        raise Reject("format", None, "CCM* MIC length must be 0, 4, 8 or 16")
    if n > 0xFFFF:
        raise Reject("format", None, "CCM* message too long for L = 2")


def _cipher(key):
    return key if isinstance(key, AES) else AES(key)


def _tag(aes, nonce, aad, m, mic_len):
    """T: the first mic_len bytes of the CBC-MAC over B0 || l(a) || a || m (both zero-padded)."""
    la = len(aad)
    if la >= 0xFF00:
        raise Reject("format", None, "CCM* additional data too long")
    flags = (0x40 if la else 0) | ((((mic_len - 2) // 2) << 3) if mic_len else 0) | 1
    x = aes.encrypt_block(bytes((flags,)) + bytes(nonce) + len(m).to_bytes(2, "big"))
    if la:
        a = la.to_bytes(2, "big") + bytes(aad)
        a += bytes((-len(a)) % 16)
        for off in range(0, len(a), 16):
            x = aes.encrypt_block(_xor16(x, a[off:off + 16]))
    if m:
        mp = bytes(m) + bytes((-len(m)) % 16)
        for off in range(0, len(mp), 16):
            x = aes.encrypt_block(_xor16(x, mp[off:off + 16]))
    return x[:mic_len]


def _ctr(aes, nonce, data):
    """data xor E(A_1), E(A_2), ... ; and E(A_0) for the tag."""
    pre = b"\x01" + bytes(nonce)
    s0 = aes.encrypt_block(pre + b"\x00\x00")
    out = bytearray(len(data))
    i = 1
    for off in range(0, len(data), 16):
        ks = aes.encrypt_block(pre + i.to_bytes(2, "big"))
        chunk = data[off:off + 16]
        for j in range(len(chunk)):
            out[off + j] = chunk[j] ^ ks[j]
        i += 1
    return bytes(out), s0


def encrypt(key, nonce, aad, plaintext, mic_len=4):
    """CCM* encryption-authentication: ciphertext || encrypted MIC (mic_len bytes)."""
    _check(nonce, mic_len, len(plaintext))
    aes = _cipher(key)
    t = _tag(aes, nonce, aad, plaintext, mic_len)
    c, s0 = _ctr(aes, nonce, plaintext)
    return c + bytes(t[i] ^ s0[i] for i in range(mic_len))


def decrypt(key, nonce, aad, data, mic_len=4):
    """CCM* decryption-verification of ciphertext || MIC: the plaintext, or Reject("mic")."""
    if len(data) < mic_len:
        raise Reject("format", None, "CCM* input shorter than its MIC")
    n = len(data) - mic_len
    _check(nonce, mic_len, n)
    aes = _cipher(key)
    m, s0 = _ctr(aes, nonce, data[:n])
    if mic_len:
        t = _tag(aes, nonce, aad, m, mic_len)
        got = bytes(data[n + i] ^ s0[i] for i in range(mic_len))
        if not equal(t, got):
            raise Reject("mic", INTEGRITY_FAILED, "CCM* MIC does not verify")
    return m
