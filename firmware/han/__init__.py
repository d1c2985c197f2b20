"""The HAN transport: IEEE 802.15.4 / ZigBee frames on a board radio (board.radio()), the Comms
Hub's coordinator and Trust Centre (hub.py) and a joining device (device.py). docs/han.md §9-§11.

    han = firmware.han.open(board, role)   # the node's HAN port, or None without a "han" record
    han.poll(); han.send(dst_eui8, cluster, zcl_frame); han.recv() -> (src_eui8, cluster, zcl)
"""


def open(board, role):  # noqa: A001 - the module's entry point, as W2's firmware/wan/node.py calls it
    """The HAN port of this node (firmware/han/port.py) when its store has a "han" record
    (provisioning), else None; None too when the board has no radio (Reject "board-radio")."""
    store = role.store
    if store.get("han") is None:
        return None
    from firmware.alerts import Reject
    from firmware.han.port import HanPort

    try:
        radio = board.radio()
    except Reject as e:
        if e.reason != "board-radio":
            raise
        return None
    if role.name == "chf":
        from firmware.han.hub import Coordinator

        node = Coordinator(radio, role, store, board.ticks_ms)
    else:
        from firmware.han.device import Joiner

        node = Joiner(radio, store, role.eui, board.ticks_ms)
    return HanPort(node)
