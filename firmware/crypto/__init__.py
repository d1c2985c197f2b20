"""Crypto core for the smlab firmware (pure Python, identical under MicroPython and CPython).

Modules: aes (AES-128 block shim), gcm (AES-GCM / GMAC, NIST SP 800-38D), kdf (NIST SP 800-56A
single-step KDF with the GBCS OtherInfo, GBCS §4.3.3.3), p256 (ECDSA / ECDH over NIST P-256,
FIPS 186-4, SEC 1, RFC 6979), hmac (RFC 2104 HMAC-SHA256), ct (constant-time compare),
zigbee (CRC-16/X-25 install codes, AES-MMO hash, HMAC-MMO; ZigBee spec B.6). See docs/crypto.md.
"""
