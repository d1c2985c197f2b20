"""The GBCS use cases this firmware implements, as requests on the COSEM objects of
firmware/gbcs/cosem.py (GBCS §7.2 use-case content; shared/reference/gbcs.md §7.2-§7.6): read by the
host's command builders and conformance tools; the device dispatches on cosem.OBJECTS and never
loads this module (its strings would stay interned on a small heap).

USE_CASES rows: (name, message code, critical, cosem.OBJECTS row indexes in request order, value),
where value is the script selector (ECS42/43/44) or the payment mode enum (ECS02/03) the command
carries, else None.
"""
from firmware.gbcs.cosem import SCRIPT_CLOSE, SCRIPT_OPEN, SCRIPT_ARM, MODE_CREDIT, MODE_PREPAYMENT

USE_CASES = (
    ("ECS42", 0x004F, True, (0,), SCRIPT_CLOSE),
    ("ECS43", 0x0050, True, (0,), SCRIPT_OPEN),
    ("ECS44", 0x0051, True, (0,), SCRIPT_ARM),
    ("ECS45", 0x0052, False, (2,), None),
    ("ECS02", 0x001A, True, (3, 4, 5), MODE_CREDIT),
    ("ECS03", 0x001B, True, (3, 4, 5), MODE_PREPAYMENT),
    ("CS01a", 0x0007, False, (8,), None),
)
