"""The hand-held terminal: optical sessions, HHT credentials and signed work orders."""
