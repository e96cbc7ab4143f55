#!/usr/bin/env python3
"""Fails when two sibling Rust modules import each other, directly or
through a ring of siblings.

A module's siblings are the other files and directories in its folder
(`src/cli/render.rs` and `src/cli/verbs/` are siblings under `cli`). A
reference counts when a file names a sibling through `super::NAME`,
`crate::PATH::NAME` or, for the top level, `crate::NAME`, in `use`
lines or paths in code. Tests inside a file (`#[cfg(test)] mod tests`)
count too: a cycle through a test is still a cycle to read.

Usage: check-module-cycles.py [ROOT ...]   (default: src)
Prints each cycle and exits 1 when there is one; prints the module
count and exits 0 otherwise.
"""
import os
import re
import sys


def module_path(root, path):
    """The module path (a tuple) of a .rs file below root."""
    rel = os.path.relpath(path, root)[: -len(".rs")]
    parts = rel.split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def references(text, own):
    """Module paths (tuples) this file names, made absolute from the crate root."""
    found = set()
    for match in re.finditer(r"\b(crate|super|self)\b((?:::\w+)*)", text):
        head, tail = match.group(1), match.group(2)
        parts = [p for p in tail.split("::") if p]
        if head == "crate":
            base = []
        elif head == "super":
            base = list(own[:-1])
            while parts and parts[0] == "super":  # super::super::x
                base = base[:-1]
                parts = parts[1:]
        else:
            base = list(own)
        prefix = base + parts
        found.add(tuple(prefix))
        rest = text[match.end():]
        if rest.startswith("::{"):
            for path in use_group(rest[3:]):
                found.add(tuple(prefix + path))
    return found


def use_group(text):
    """The paths inside `{...}` of a use declaration (text starts after the
    brace), nested groups expanded: `a::{b, c::{d}}` gives a::b, a::c::d."""
    paths, current, prefixes = [], "", []
    for ch in text:
        if ch == "{":
            prefixes.append(current.strip())
            current = ""
        elif ch in "},":
            item = "".join(prefixes) + current.strip()
            parts = [p.strip() for p in re.split(r"::|\s+as\s+", item)]
            parts = [p for p in parts if p and p != "self"]
            if parts and current.strip():
                paths.append(parts)
            current = ""
            if ch == "}":
                if not prefixes:
                    break
                prefixes.pop()
        else:
            current += ch
    return paths


def main():
    roots = sys.argv[1:] or ["src"]
    modules = {}
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                # The binaries are thin mains, not modules of the library.
                if name.endswith(".rs") and os.sep + "bin" + os.sep not in path:
                    with open(path, encoding="utf-8") as f:
                        modules[module_path(root, path)] = strip_comments(f.read())
    known = set(modules)
    # Edges between siblings: A (parent P) -> B (parent P) when a file in
    # A's subtree names B's subtree.
    edges = {}
    for own, text in modules.items():
        for ref in references(text, own):
            # Longest known prefix of ref.
            while ref and ref not in known:
                ref = ref[:-1]
            if not ref:
                continue
            # The common parent, then the two children of it.
            common = 0
            while common < min(len(own), len(ref)) and own[common] == ref[common]:
                common += 1
            if common >= len(own) or common >= len(ref):
                continue  # an ancestor or descendant, not a sibling
            a, b = own[: common + 1], ref[: common + 1]
            edges.setdefault(a, set()).add(b)
    cycles = strongly_connected(edges)
    for cycle in cycles:
        print("cycle: " + " <-> ".join("::".join(m) for m in sorted(cycle)))
        for a in sorted(cycle):
            for b in sorted(edges.get(a, ())):
                if b in cycle:
                    print(f"    {'::'.join(a)} -> {'::'.join(b)}")
    if cycles:
        return 1
    print(f"no import cycle between sibling modules ({len(modules)} files)")
    return 0


def strongly_connected(edges):
    """Tarjan's algorithm; returns the components with more than one module."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]
    nodes = set(edges) | {b for bs in edges.values() for b in bs}

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
