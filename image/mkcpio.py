#!/usr/bin/env python3
"""Writes a newc cpio archive (the initramfs format) from a list in the
kernel's gen_init_cpio syntax, without root and byte for byte reproducibly:
entries sorted by path, inode numbers in that order, one fixed mtime,
owner and mode exactly as listed. Device nodes need no mknod. A directory
may be listed more than once with the same mode and owner; any other name
listed twice is an error.

    file <name> <source> <mode> <uid> <gid> [<hard link>...]
    dir <name> <mode> <uid> <gid>
    nod <name> <mode> <uid> <gid> <c|b> <major> <minor>
    slink <name> <target> <mode> <uid> <gid>

usage: mkcpio.py LIST OUTPUT   (SOURCE_DATE_EPOCH sets the mtime, default 0)
"""
import os
import stat
import sys


def entries(lines):
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        kind, name = words[0], words[1].lstrip("/")
        try:
            if kind == "file":
                src, mode, uid, gid = words[2], int(words[3], 8), int(words[4]), int(words[5])
                with open(src, "rb") as f:
                    data = f.read()
                # Hard links share one inode; the kernel takes the data from
                # whichever entry it meets first and links the others to it.
                links = [name] + [w.lstrip("/") for w in words[6:]]
                for link in links:
                    yield link, stat.S_IFREG | mode, uid, gid, data, (0, 0), links[0], len(links)
            elif kind == "dir":
                yield name, stat.S_IFDIR | int(words[2], 8), int(words[3]), int(words[4]), b"", (0, 0), name, 2
            elif kind == "nod":
                kind_bit = {"c": stat.S_IFCHR, "b": stat.S_IFBLK}[words[5]]
                rdev = (int(words[6]), int(words[7]))
                yield name, kind_bit | int(words[2], 8), int(words[3]), int(words[4]), b"", rdev, name, 1
            elif kind == "slink":
                target = words[2].encode()
                yield name, stat.S_IFLNK | int(words[3], 8), int(words[4]), int(words[5]), target, (0, 0), name, 1
            else:
                raise ValueError(f"unknown kind {kind!r}")
        except (IndexError, ValueError, KeyError, OSError) as e:
            sys.exit(f"mkcpio: line {number}: {line.strip()}: {e}")


def header(ino, mode, uid, gid, nlink, mtime, size, rdev, namesize):
    fields = [ino, mode, uid, gid, nlink, mtime, size, 0, 0, rdev[0], rdev[1], namesize, 0]
    return b"070701" + b"".join(b"%08X" % f for f in fields)


def pad(data):
    return data + b"\0" * (-len(data) % 4)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    with open(sys.argv[1]) as f:
        items = sorted(entries(f), key=lambda e: e[0])
    # A directory listed twice alike is one entry: lists made by different
    # tools (image/modules adds /etc/nsinit) can be concatenated.
    items = [e for i, e in enumerate(items) if i == 0 or not (stat.S_ISDIR(e[1]) and e == items[i - 1])]
    names = [e[0] for e in items]
    if len(set(names)) != len(names):
        sys.exit("mkcpio: a name is listed twice")
    out = bytearray()
    inodes, written = {}, set()
    for name, mode, uid, gid, data, rdev, inode_key, nlink in items:
        ino = inodes.setdefault(inode_key, len(inodes) + 1)
        if inode_key in written:
            data = b""  # a further link to a file already carried
        written.add(inode_key)
        encoded = name.encode() + b"\0"
        out += pad(header(ino, mode, uid, gid, nlink, mtime, len(data), rdev, len(encoded)) + encoded)
        out += pad(data)
    trailer = b"TRAILER!!!\0"
    out += pad(header(0, 0, 0, 0, 1, 0, 0, (0, 0), len(trailer)) + trailer)
    out += b"\0" * (-len(out) % 512)
    with open(sys.argv[2], "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
