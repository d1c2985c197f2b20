"""ZigBee PRO / Smart Energy HAN stack pieces (docs/han.md): IEEE 802.15.4 MAC frames (mac), NWK
(nwk), APS (aps), ZCL headers (zcl), NWK/APS security with AES-CCM* (security), durable frame
counters (counters), key transport (keytransport) and the CBKE message flow on P-256 (cbke).
Shared by the firmware and the host tools; imported on demand, never on the meter's boot path.
"""
