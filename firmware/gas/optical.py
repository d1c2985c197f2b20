"""The GSME's optical port log-in (shared/reference/gbcs.md §5.2; docs/hht.md): the pass-through HHT
logs in with a credential issued by the supplier, so the port trusts the supplier's DS trust anchor
only; the commands it then carries are verified by the GSME's own GBCS pipeline. Loaded on demand."""


def hht_anchor(role, issuer):
    """Verify key of the supplier DS anchor when `issuer` is the supplier in the trust anchor cells,
    else None."""
    from firmware.core.trust import DS
    from firmware.gbcs.parties import SUPPLIER

    t = role.trust
    if t.party_role(issuer) != SUPPLIER:
        return None
    c = t.party_cell(issuer, DS)
    return None if c is None else t.verify_key(c)
