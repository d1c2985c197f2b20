"""UTRN top-ups and configuration codes: generation, decoding and explanation on the host."""
