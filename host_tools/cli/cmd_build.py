"""`smlab build`: firmware to .mpy with mpy-cross for a target (host or esp32)."""
import os

from host_tools.boards import build as b


def register(sub):
    p = sub.add_parser("build", help="compile firmware/ and board/ to .mpy for a target")
    p.add_argument("--target", default="esp32", choices=sorted(b.TARGETS),
                   help="host (a virtual board) or esp32 (-march=xtensawin); default esp32")
    p.add_argument("--out", help="output directory (default build/<target>)")
    p.set_defaults(func=run)


def run(args):
    out = args.out or os.path.join("build", args.target)
    manifest = b.build(args.target, out)
    total = sum(m[1] for m in manifest)
    text = "built %d modules for %s into %s (%d bytes)" % (len(manifest), args.target, out, total)
    return {"text": text, "data": {"target": args.target, "out": out, "bytes": total,
                                   "files": [{"path": p, "size": s, "sha256": h} for p, s, h in manifest]}}
