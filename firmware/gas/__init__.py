"""The gas meter (GSME) model and its GBZ use cases (shared/reference/gas.md; docs/gas.md)."""
