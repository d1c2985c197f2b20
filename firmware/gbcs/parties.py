"""GBCS remote party roles and KDF U values, the one place these protocol numbers are written
(GBCS §4.3.2 remote party roles as carried in certificates and Trust Anchor Cells; GBCS §4.3.3.3 KDF
OtherInfo; shared/reference/gbcs.md §3.2, §5).

Party roles (the `role` of a trust anchor cell and of an originator): ROOT 0 ... LOAD_CONTROLLER 8,
OTHER 127. NAMES.split()[n] is the certificate name of role n for n in 0..8 (organisation unit
spelling used by the host PKI; 127 is "other"). One string, not a tuple of names: a device carries
this module, and every distinct string it loads is interned for good.

KDF U (one byte of the GBCS OtherInfo) selects the key: U_COMMAND 01 (command MAC, and UTRN MAC),
U_RESPONSE 02 (response MAC), U_ALERT 03 (alert MAC), U_PAYLOAD 04 (payload encryption).
"""

ROOT = 0
RECOVERY = 1
SUPPLIER = 2
NETWORK_OPERATOR = 3
ACB = 4
TRANSITIONAL_COS = 5
WAN_PROVIDER = 6
ISSUING_AUTHORITY = 7
LOAD_CONTROLLER = 8
OTHER = 127

NAMES = "root recovery supplier networkOperator accessControlBroker transitionalCoS wanProvider \
issuingAuthority loadController"

U_COMMAND = 1
U_RESPONSE = 2
U_ALERT = 3
U_PAYLOAD = 4
