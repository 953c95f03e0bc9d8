#!/usr/bin/env python3
"""Write the corpus of hostile layers petra must refuse.

Each layer tries one way out of the target directory (or one other abuse).
The files are committed; run this only to regenerate them:

    python3 tests/data/hostile/make-corpus.py tests/data/hostile

Escapes aim at "petra-hostile-canary*" names: tests check no such file
appears next to the target or in /tmp.
"""
import gzip
import io
import os
import sys
import tarfile

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__)
CANARY = "petra-hostile-canary"


def info(name, kind=tarfile.REGTYPE, data=b"", linkname="", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.mtime = 1700000000
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.linkname = linkname
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write(name, entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for ti, data in entries:
            tar.addfile(ti, data)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(buf.getvalue())
    return buf.getvalue()


d = tarfile.DIRTYPE
sym = tarfile.SYMTYPE
hard = tarfile.LNKTYPE

# ".." in a name: one level up lands next to the target.
write("traversal.tar", [info("etc", d, mode=0o755), info("../" + CANARY, data=b"x\n")])
write("traversal-nested.tar", [info("a", d, mode=0o755), info("a/../../" + CANARY, data=b"x\n")])
# An absolute name.
write("absolute.tar", [info("/tmp/" + CANARY, data=b"x\n")])
# A symlink that leads out, then a file written through it.
write("symlink-escape.tar", [
    info("link", sym, linkname="../../../../../../../../tmp"),
    info("link/" + CANARY, data=b"x\n"),
])
# The same with an absolute target that climbs above "/".
write("symlink-escape-absolute.tar", [
    info("link", sym, linkname="/../.."),
    info("link/" + CANARY, data=b"x\n"),
])
# A hardlink to a file outside the root.
write("hardlink-escape.tar", [info("passwd", hard, linkname="../../../../../../etc/passwd")])
# A hardlink whose target path goes through an escaping symlink.
write("hardlink-symlink-escape.tar", [
    info("up", sym, linkname="../../../../../../.."),
    info("passwd", hard, linkname="up/etc/passwd"),
])
# A whiteout that names "..".
write("whiteout-dotdot.tar", [info("a", d, mode=0o755), info("a/.wh...")])
# A whiteout reached through an escaping symlink.
write("whiteout-symlink-escape.tar", [
    info("up", sym, linkname="../../../../../../../tmp"),
    info("up/.wh." + CANARY),
])
# A block device node.
blk, _ = info("dev/sda", tarfile.BLKTYPE, mode=0o660)
blk.devmajor, blk.devminor = 8, 0
write("device.tar", [info("dev", d, mode=0o755), (blk, None)])
# The same path twice.
write("duplicate.tar", [info("etc", d, mode=0o755), info("etc/passwd", data=b"a\n"),
                        info("etc/passwd", data=b"root::0:0::/:/bin/sh\n")])
# A tar cut off in the middle of a file's data.
full = write("truncated.tar", [info("big", data=b"A" * 8192)])
with open(os.path.join(OUT, "truncated.tar"), "wb") as f:
    f.write(full[: 512 + 3000])
# A gzip bomb: 128 MiB of zeros in one file, about 128 kB compressed.
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
    ti = tarfile.TarInfo("zeros")
    ti.size = 128 << 20
    ti.mtime = 1700000000

    class Zeros(io.RawIOBase):
        def __init__(self, n):
            self.left = n

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    tar.addfile(ti, io.BufferedReader(Zeros(ti.size)))
with open(os.path.join(OUT, "bomb.tar.gz"), "wb") as f:
    f.write(gzip.compress(buf.getvalue(), compresslevel=9, mtime=0))

# A path deeper than any real image (1,100 levels), in a 1 kB layer.
write("deep.tar", [info("a/" * 1100 + CANARY, data=b"x\n")])
# Symlinks that multiply depth: each adds 200 levels to the last.
chain = [info("s0", d, mode=0o755)]
for i in range(1, 8):
    chain.append(info("s%d" % i, sym, linkname="s%d/" % (i - 1) + "d/" * 200))
chain.append(info("s7/" + CANARY, data=b"x\n"))
write("deep-symlinks.tar", chain)
# An opaque marker reached through a symlink: it would empty the directory
# the symlink names, which this layer never mentioned.
write("opaque-symlink.tar", [info("real", d, mode=0o755), info("real/keep", data=b"k\n"),
                             info("l", sym, linkname="real"), info("l/.wh..wh..opq")])
