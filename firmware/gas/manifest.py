# Frozen-image manifest of firmware.gas: the GSME model and its GBZ use cases. Written in
# MicroPython's manifest language; freezes every module of this directory except this file, so a
# module added here is frozen without editing this file. Paths are relative to this file (the
# manifest tools run it from this directory). Included by firmware/manifest.py.
import os

SKIP = ("manifest.py",)

package(
    "firmware/gas",
    files=sorted(f for f in os.listdir(".") if f.endswith(".py") and f not in SKIP),
    base_path="../..",
)
