"""ESME device role: meter model (load switch, payment mode) and device security state."""
