"""GBCS on the host: use-case command builders, independent response verification, bit-flip
sweeps and the RTDS corpus loaders."""
