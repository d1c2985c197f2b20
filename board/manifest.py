# Frozen-image manifest of the board package (hardware abstraction) for an ESP32 image: every
# module of this directory except those in SKIP. Written in MicroPython's manifest language;
# paths are relative to this file (the manifest tools run it from this directory). Included by
# the top-level manifest host_tools/boards/freeze.py writes.
import os

# The virtual board on the MicroPython unix port only: unix.py (its board), unix_boot.py (its ROM
# boot script), unix_powercut.py (power-cut injection) and flash.py (the simulated NOR flash under
# its littlefs). An ESP32 runs board/esp32.py on the port's own flash partition.
SKIP = ("manifest.py", "unix.py", "unix_boot.py", "unix_powercut.py", "flash.py")

package(
    "board",
    files=sorted(f for f in os.listdir(".") if f.endswith(".py") and f not in SKIP),
    base_path="..",
)
