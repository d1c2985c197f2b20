"""The COSEM objects this firmware implements: one table read by the device's handlers
(firmware/meter/handlers.py, firmware/utrn/cs01a.py register from OBJECTS) and by the host's command
builders through the use cases built on it (firmware/gbcs/usecases.py, which the device never
loads), so every protocol fact below is written once (GBCS §7.2 use-case content; DLMS/COSEM interface classes as GBCS profiles them;
shared/reference/gbcs.md §7.2-§7.6).

COSEM objects (interface class, OBIS):
    IC 9    script table        0-0:10.0.106.255   load-switch scripts (execute: selector 51/52/54)
    IC 70   disconnect control  0-0:96.3.10.255    2 output_state, 3 control_state
    IC 111  account             0-1:19.0.0.255     2 mode and status, 11 credit/charge configuration,
                                                   13 payment-mode activation date-time
    IC 9000 GBCS threshold      0-0:94.44.128.22   4 disablement threshold, 6 its activation time
    IC 115  token gateway       0-0:19.40.0.255    1 enter (a 20-digit UTRN)

OBJECTS rows: (kind, class id, OBIS (6 bytes), attribute or method, critical); a critical object
answers only KRP-signed commands; rows 0-7 are the ESME handlers' (in this order), the last is
CS01a's. Rows are referred to by index (numbered in the comments); the table is a tuple
of tuples and few names because on a port where it lives on the heap every module-level name costs
a dictionary slot.

Script selectors (ECS42/43/44) and payment mode enums (ECS02/03) are the values commands carry
(IC 70 control_state values: 0 disconnected, 1 connected, 2 ready for reconnection).
"""
from firmware.compat import const

_GET = const(1)  # firmware.gbcs.dlms GET, SET, ACTION
_SET = const(2)
_ACTION = const(3)

_LOAD_SWITCH_SCRIPTS = const(b"\x00\x00\x0A\x00\x6A\xFF")  # 0-0:10.0.106.255
_DISCONNECT_CONTROL = const(b"\x00\x00\x60\x03\x0A\xFF")  # 0-0:96.3.10.255
_ACCOUNT = const(b"\x00\x01\x13\x00\x00\xFF")  # 0-1:19.0.0.255
_DISABLEMENT_THRESHOLD = const(b"\x00\x00\x5E\x2C\x80\x16")  # 0-0:94.44.128.22
_TOKEN_GATEWAY = const(b"\x00\x00\x13\x28\x00\xFF")  # 0-0:19.40.0.255

# script table selectors (IC 9 execute) of the load switch
SCRIPT_CLOSE = 51
SCRIPT_OPEN = 52
SCRIPT_ARM = 54
# IC 111 account_mode_and_status payment mode enum
MODE_CREDIT = 1
MODE_PREPAYMENT = 2

OBJECTS = (
    (_ACTION, 9, _LOAD_SWITCH_SCRIPTS, 1, True),  # 0 load switch: execute(script selector)
    (_GET, 70, _DISCONNECT_CONTROL, 2, False),  # 1 output_state
    (_GET, 70, _DISCONNECT_CONTROL, 3, False),  # 2 control_state
    (_SET, 111, _ACCOUNT, 2, True),  # 3 account_mode_and_status
    (_SET, 111, _ACCOUNT, 11, True),  # 4 credit_charge_configuration
    (_SET, 111, _ACCOUNT, 13, True),  # 5 payment-mode activation date-time
    (_SET, 9000, _DISABLEMENT_THRESHOLD, 4, True),  # 6 disablement threshold (passive)
    (_SET, 9000, _DISABLEMENT_THRESHOLD, 6, True),  # 7 its activation date-time
    (_ACTION, 115, _TOKEN_GATEWAY, 1, False),  # 8 token gateway: enter(UTRN), CS01a's row (the last)
)
