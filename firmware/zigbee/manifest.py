# Frozen-image manifest of firmware.zigbee: 802.15.4 MAC, ZigBee NWK/APS/ZCL codecs, CCM* security,
# counters, CBKE. Written in MicroPython's manifest language; freezes every module of this directory
# except this file, so a module added here is frozen without editing this file. Paths are relative
# to this file (the manifest tools run it from this directory). Included by firmware/manifest.py.
import os

SKIP = ("manifest.py",)

package(
    "firmware/zigbee",
    files=sorted(f for f in os.listdir(".") if f.endswith(".py") and f not in SKIP),
    base_path="../..",
)
