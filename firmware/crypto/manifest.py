# Frozen-image manifest of firmware.crypto: P-256 ECDSA/ECDH, GMAC and the GBCS KDF, HMAC, ZigBee
# CRC/MMO. Written in MicroPython's manifest language; freezes every module of this directory
# except those in SKIP (this file and host-only ones), so a module added here is frozen without
# editing this file. Paths are relative to this file (the manifest tools run it from this
# directory). Included by firmware/manifest.py.
import os

# frozen.py writes the G comb table module on the host; the image freezes its output instead
SKIP = ("manifest.py", "frozen.py")

package(
    "firmware/crypto",
    files=sorted(f for f in os.listdir(".") if f.endswith(".py") and f not in SKIP),
    base_path="../..",
)
