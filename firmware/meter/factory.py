"""Factory provisioning under its meter-layer import path (firmware/core/provision.py)."""
from firmware.core.provision import provision, precompute  # noqa: F401
