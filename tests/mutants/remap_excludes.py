#!/usr/bin/env python3
"""Keeps .cargo/mutants.toml's exclusions on their mutants after an edit.

Each excluded mutant is named by file, line and column, so an edit that
moves its line leaves a stale entry (it excludes nothing, and the mutant
counts as missed again). `remap_excludes.py REV` finds each entry's line
as it was at REV and moves the entry to where that same line is now (in
the same file, or in another one if it moved there, when that is
unambiguous); then, with `cargo mutants --list`, it checks that every
entry names exactly one mutant, and prints those that do not for a reader
to settle. `remap_excludes.py --check` does only the check.
"""
import glob
import re
import subprocess
import sys

TOML = ".cargo/mutants.toml"
ENTRY = re.compile(r'"\^(src/[a-z_]+)\\\\\.rs:(\d+):(\d+): (.*?)\$"')


def remap(base):
    toml = open(TOML).read()
    now = {f: open(f).read().split("\n") for f in glob.glob("src/*.rs")}
    out = toml
    for m in ENTRY.finditer(toml):
        path, line, col, what = m.group(1) + ".rs", int(m.group(2)), m.group(3), m.group(4)
        old = subprocess.run(["git", "show", f"{base}:{path}"], capture_output=True, text=True, check=True)
        text = old.stdout.split("\n")[line - 1].strip()
        hits = [(f, i + 1) for f, lines in now.items() for i, l in enumerate(lines) if l.strip() == text]
        same = [h for h in hits if h[0] == path]
        found = same if len(same) == 1 else hits
        if len(found) != 1:
            print(f"settle by hand: {path}:{line} {what}: {text!r} is now at {hits}")
            continue
        f, n = found[0]
        out = out.replace(m.group(0), f'"^{f[:-3]}\\\\.rs:{n}:{col}: {what}$"')
    open(TOML, "w").write(out)


def check():
    listed = subprocess.run(["cargo", "mutants", "--list", "--no-config"], capture_output=True, text=True,
                            check=True).stdout.split("\n")
    bad = 0
    for m in re.finditer(r'^\s*"(\^src/.*?\$)",', open(TOML).read(), re.M):
        rx = m.group(1).encode().decode("unicode_escape")
        n = sum(1 for l in listed if re.search(rx, l))
        if n != 1:
            print(f"names {n} mutants: {rx}")
            bad += 1
    return bad


if __name__ == "__main__":
    if sys.argv[1:] != ["--check"]:
        remap(sys.argv[1])
    sys.exit(1 if check() else 0)
