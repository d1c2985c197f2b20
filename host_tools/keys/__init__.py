"""Key stores: the bench test PKI, DCC test keystore import, and device provisioning payloads."""
