"""Names of the device trust state (firmware/core/trust.py) and party roles
(firmware/gbcs/parties.py) under their meter-layer import path."""
from firmware.core.trust import Cell, DS, KA, MANAGEMENT, PREPAYMENT, table_path  # noqa: F401
from firmware.core.trust import Trust as SecurityState  # noqa: F401
from firmware.gbcs.parties import ROOT, RECOVERY, SUPPLIER, NETWORK_OPERATOR, ACB, \
    TRANSITIONAL_COS, WAN_PROVIDER, ISSUING_AUTHORITY, LOAD_CONTROLLER, OTHER  # noqa: F401
