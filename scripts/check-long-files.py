#!/usr/bin/env python3
"""Fails when a Rust file is longer than the house limit and its first
doc comment does not say why.

A file over LIMIT lines must say so in its opening `//!` comment with a
line containing "Why one file:" followed by the reason (for instance: a
table that reads best whole, or one test topic). Everything else splits
by job. Generated code is not checked (it is not in these folders).

Usage: check-long-files.py [DIR ...]   (default: src tests bench)
"""
import os
import sys

LIMIT = 600
MARKER = "Why one file:"


def opening_comment(lines):
    """The file's leading `//!` lines (blank lines allowed between)."""
    comment = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("//!"):
            comment.append(stripped)
        elif stripped and not stripped.startswith("#!["):
            break
    return comment


def main():
    dirs = sys.argv[1:] or ["src", "tests", "bench"]
    bad, checked = [], 0
    for top in dirs:
        for dirpath, _, files in os.walk(top):
            for name in sorted(files):
                if not name.endswith(".rs"):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as f:
                    lines = f.read().splitlines()
                checked += 1
                if len(lines) > LIMIT and not any(
                    MARKER in line for line in opening_comment(lines)
                ):
                    bad.append((len(lines), path))
    for count, path in sorted(bad, reverse=True):
        print(f"{path}: {count} lines, over {LIMIT}, and its opening //! comment has no '{MARKER}' line")
    if bad:
        return 1
    print(f"no file over {LIMIT} lines without a reason ({checked} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
