"""Rejection reasons of the optical port, the HHT login and the restricted HHT view (the `reason` of a
firmware.alerts.Reject; IEC 62056-21 §6.3 programming mode, login design in docs/hht.md). The
session decides on these names (e.g. RANGE is answered ER10, every other refusal ER02 and logged);
the GBCS alert code a Reject carries is what the security log records.
"""
from firmware.core.reasons import FORMAT  # noqa: F401  (malformed field, frame or credential)

# HHT login (P2 answer), in the order Authenticator.check applies them
LOGIN_FORMAT = "login-format"  # P2 answer length or hex
LOGIN_NONCE = "login-nonce"  # no challenge outstanding (one answer per nonce)
LOGIN_ISSUER = "login-issuer"  # credential issuer is not this meter's supplier
LOGIN_SCOPE = "login-scope"  # credential for another meter
LOGIN_EXPIRED = "login-expired"
LOGIN_PERMS = "login-perms"  # credential grants nothing
LOGIN_CERT = "login-cert"  # supplier's signature over the credential
LOGIN_KEY = "login-key"  # HHT public key not a valid point
LOGIN_SIG = "login-sig"  # HHT's signature over the challenge

# restricted HHT commands
REFUSED = "refused"  # not in the HHT interface specification, or not permitted by the credential
RANGE = "range"  # a read out of range (a log entry that does not exist)
