"""GBCS codec, DLMS subset and authentication pipeline (shared/reference/gbcs.md §2-§7)."""
