"""Single-bit-flip sweeps against the ESME pipeline (GBCS §6.2.4 order as in gbcs.md §6): every
flipped bit must be rejected, with the reason of the first check that the altered field reaches,
and must change no state. Used by tests/host/test_gbcs_negative.py (sampled) and
bench/bench_gbcs_bitflip.py (full sweep).

Regions of a MAC'd command (offsets relative to the general-signing tag g):
    header   MAC Header bytes before g                 -> format
    tags     DF, 09, 08, 08 length bytes, date-time length, other-info length, content length,
             signature length                           -> format
    cra      g+2                                        -> format / not-command
    counter  g+3..g+10                                  -> mac
    orig     g+12..g+19                                 -> originator / mac
    recip    g+21..g+28                                 -> target
    code     other-information value                    -> mac
    content  content bytes                              -> mac
    sig      signature bytes                            -> mac (the MAC covers the signature)
    mac      MAC bytes                                  -> mac
With `remac` (the MAC recomputed with the published ACB key after the flip, isolating the KRP
signature check) counter, code, content and signature flips must fail as "signature".
"""
from firmware.alerts import Reject
from firmware.gbcs import frame
from firmware.gbcs.ber import encode_len

ALLOWED = {
    "header": ("format",), "tags": ("format",), "cra": ("format", "not-command"),
    "counter": ("mac",), "orig": ("originator", "mac"), "recip": ("target",), "code": ("mac",),
    "content": ("mac",), "sig": ("mac",), "mac": ("mac",),
}
ALLOWED_REMAC = dict(ALLOWED, counter=("signature",), code=("signature",),
                     content=("signature",), sig=("signature",), orig=("originator", "signature"))


def regions(m):
    """[region name per byte] for a parsed MAC'd message."""
    g = m.gs_start
    n = len(m.raw)
    out = ["header"] * g
    out += ["tags", "tags", "cra"] + ["counter"] * 8 + ["tags"] + ["orig"] * 8 + ["tags"] + \
        ["recip"] * 8
    out += ["tags"] + (["tags"] * 12 if m.date_time else [])  # date-time (absent in commands)
    oi = m.other_info()
    out += ["tags"] * len(encode_len(len(oi))) + ["code"] * len(oi)
    out += ["tags"] * len(encode_len(len(m.content))) + ["content"] * len(m.content)
    if m.signature is not None:
        out += ["tags"] + ["sig"] * len(m.signature)
    out += ["mac"] * (n - len(out))
    assert len(out) == n and out.count("mac") == (12 if m.mac_header else 0)
    return out


def flip(raw, bit):
    c = bytearray(raw)
    c[bit >> 3] ^= 0x80 >> (bit & 7)
    return bytes(c)


def sweep(esme, raw, bits=None, remac=None, only=None):
    """Flip each bit (all, or the iterable `bits`) of `raw` and process it on `esme`.

    remac: optional callable(bytes) -> bytes recomputing the MAC; `only`: restrict to regions.
    Returns (counts {(region, reason): n}, wrong [(bit, region, reason)], accepted [bit])."""
    m = frame.parse(raw)
    reg = regions(m)
    allowed = ALLOWED_REMAC if remac else ALLOWED
    counts, wrong, accepted = {}, [], []
    for bit in (bits if bits is not None else range(len(raw) * 8)):
        r = reg[bit >> 3]
        if only and r not in only:
            continue
        c = flip(raw, bit)
        if remac:
            try:
                c = remac(c)
            except Reject:
                pass  # the flip broke the framing; the device must say "format"
        try:
            esme.process(c)
            accepted.append(bit)
            continue
        except Reject as e:
            reason = e.reason
        counts[(r, reason)] = counts.get((r, reason), 0) + 1
        if reason not in allowed[r]:
            wrong.append((bit, r, reason))
    return counts, wrong, accepted
