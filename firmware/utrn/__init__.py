"""UTRN top-ups and configuration codes (GBCS §14; shared/reference/gbcs.md §9, optical.md §5-6).

Modules: codec (20-digit format, check digit, PTUT), mac (KDF + GMAC), counters (reconstruction,
cache + floor), lockout, ledger, config (configuration codes, a documented extension), accept (the
one acceptance function for keypad and CS01a), cs01a (DLMS Token Gateway hook). See docs/utrn.md
and docs/config-codes.md. Kept import-free so a board loads only the submodules it uses.
"""
