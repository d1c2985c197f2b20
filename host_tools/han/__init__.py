"""Host side of the HAN simulation (docs/han.md): ZEP v2 encapsulation of IEEE 802.15.4 frames
(zep), a pcap writer that tshark/Wireshark read as Ethernet/IPv4/UDP/ZEP (pcap), the Wireshark key
table for decryption (keys) and a scripted install-code join capture (capture). The frame codecs
and security are firmware/zigbee (one implementation for boards and hosts).
"""
