#!/usr/bin/env python3
"""Fails when the top-level modules of src/ import each other in a loop (of any length).

A module is a top-level file or folder of src/ (`src/app/...` is `app`). An edge A -> B is
any `crate::B` path written in A, in code or `use`, tests included: a test that needs the
drawing code inside the core is a loop too. Within a room, `--depth 2` also checks the
second level (e.g. `app::msg` -> `app::transfers`), reported but not failing unless
`--strict` is given.
"""
import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "src"
CRATE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)(?:::([a-z_][a-z0-9_]*))?")
SUPER_PATH = re.compile(r"\bsuper::([a-z_][a-z0-9_]*)")
# `use crate::{a, b::c}` names several modules at once.
CRATE_GROUP = re.compile(r"\bcrate::\{([^}]*)\}", re.S)
COMMENT = re.compile(r"//[^\n]*")


def modules():
    found = {}
    for path in sorted(ROOT.rglob("*.rs")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = rel.parts
        if parts in (("lib",), ("main",)):
            continue
        top = parts[0]
        second = parts[1] if len(parts) > 1 and parts[1] != "mod" else None
        found[path] = (top, second)
    return found


def edges(depth):
    graph = {}
    for path, (top, second) in modules().items():
        text = COMMENT.sub("", path.read_text(encoding="utf-8"))
        targets = set()
        for m in CRATE_PATH.finditer(text):
            targets.add((m.group(1), m.group(2)))
        for m in CRATE_GROUP.finditer(text):
            for item in m.group(1).split(","):
                item = item.strip()
                if not item:
                    continue
                bits = item.split("::")
                targets.add((bits[0], bits[1] if len(bits) > 1 else None))
        if depth == 2 and second is not None:
            for m in SUPER_PATH.finditer(text):
                targets.add((top, m.group(1)))
        me = top if depth == 1 else (top, second)
        for t_top, t_second in targets:
            if t_top in ("self", "super", "crate") or not (ROOT / f"{t_top}.rs").exists() and not (ROOT / t_top).is_dir():
                continue
            if depth == 1:
                if t_top != top:
                    graph.setdefault(me, set()).add(t_top)
            else:
                if t_top != top or second is None:
                    continue
                if t_second is None or t_second == second:
                    continue
                if not ((ROOT / top / f"{t_second}.rs").exists() or (ROOT / top / t_second).is_dir()):
                    continue
                graph.setdefault(me, set()).add((top, t_second))
    return graph


def loops(graph):
    """Strongly connected components with more than one member (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ()), key=str):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp, key=str))

    for v in sorted(graph, key=str):
        if v not in index:
            visit(v)
    return out


def name(v):
    return v if isinstance(v, str) else "::".join(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", action="store_true", help="print every edge")
    ap.add_argument("--strict", action="store_true", help="second-level loops fail too")
    args = ap.parse_args()
    sys.setrecursionlimit(10000)
    top = edges(1)
    if args.graph:
        for a in sorted(top):
            print(f"{a} -> {', '.join(sorted(top[a]))}")
    failed = False
    for comp in loops(top):
        failed = True
        print("import loop among top-level modules: " + " <-> ".join(comp))
        for a in comp:
            for b in sorted(top.get(a, ())):
                if b in comp:
                    print(f"  {a} -> {b}")
    inner = edges(2)
    for comp in loops(inner):
        print("import loop inside a module: " + " <-> ".join(name(v) for v in comp))
        failed = failed or args.strict
    if not failed:
        print(f"no import loops among {len({m[0] for m in modules().values()})} top-level modules")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
