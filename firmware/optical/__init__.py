"""Optical engineering port and hand-held terminals (IEC 62056-21 mode C, seed approaches
4, 5, 7, 8; shared/reference/optical.md): iec (framing, BCC), auth (HHT challenge-response login,
persisted lockout), restricted (HHT interface specification allow-list, readout), port (mode C
session state machine, pass-through), menu (engineering menu with PIN)."""
