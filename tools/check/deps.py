#!/usr/bin/env python3
"""Holds every file to the module boundaries CMake declares.

Each folder of the tree is one or more CMake targets (sb_library / sb_executable / sb_test); a
target may use the headers of the libraries it links, directly or through them, and no others.
The compiler cannot see that (every target compiles with the source root on its include path),
so this script checks it: for each source and header of a target, every #include "..." of a
header that belongs to another project library must name a library in the target's transitive
link dependencies. A header belongs to the library of its folder that compiles the .cc of the
same name, or, without one, to every library of its folder (or compiling sources of it).

It reads BUILD_DIR/sb_modules.tsv (written by CMake: cmake/Switchboard.cmake), and with --graph
prints each library's direct project dependencies instead of checking.

Usage: deps.py BUILD_DIR [--graph]
Exit status: 0 clean; 1 a boundary crossed (each one named), or nothing checked; 2 usage error.
"""

import re
import sys
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[2]
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)


class Target:
    def __init__(self, name, folder, sources, deps):
        self.name = name
        self.folder = folder  # relative to the source root, "" for the root
        self.sources = set()
        for s in sources:
            path = Path(s) if Path(s).is_absolute() else SOURCE_ROOT / folder / s
            if SOURCE_ROOT in path.resolve().parents:
                self.sources.add(path.resolve())
        self.deps = deps
        self.is_library = False


def load(build_dir):
    table = build_dir / "sb_modules.tsv"
    if not table.is_file():
        print(f"deps.py: {table} not found: configure the build with CMake first", file=sys.stderr)
        sys.exit(2)
    targets = {}
    for line in table.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        name, kind, folder, sources, deps = (line.split("\t") + [""] * 4)[:5]
        targets[name] = Target(name, folder, [s for s in sources.split(";") if s],
                               [d for d in deps.split(";") if d])
        targets[name].is_library = kind == "STATIC_LIBRARY"
    return targets


def closure(targets, name):
    seen, stack = set(), [name]
    while stack:
        t = stack.pop()
        if t in seen or t not in targets:
            continue
        seen.add(t)
        stack.extend(targets[t].deps)
    return seen


def owners(targets, path):
    """The libraries a project file belongs to (empty: no library's, e.g. a test's own header)."""
    folder = path.parent.relative_to(SOURCE_ROOT).as_posix()
    # A library of the folder, or one compiling the folder's sources from elsewhere (a copy
    # built with other flags, e.g. tests/integration/sim's uninstrumented simulator).
    here = [t for t in targets.values() if t.is_library and
            (t.folder == folder or any(s.parent == path.parent for s in t.sources))]
    if not here:
        return set()
    stem = path.with_suffix(".cc")
    compiled = {t.name for t in here if path in t.sources or stem in t.sources}
    return compiled or {t.name for t in here}


def resolve(include, including):
    for base in (including.parent, SOURCE_ROOT):
        candidate = (base / include).resolve()
        if candidate.is_file() and SOURCE_ROOT in candidate.parents:
            return candidate
    return None


def files_of(targets):
    """Each project file with the targets it is compiled in or belongs to."""
    files = {}
    for t in targets.values():
        for s in t.sources:
            files.setdefault(s, set()).add(t.name)
            for header in (s.with_suffix(".h"),):
                if header.is_file():
                    files.setdefault(header, set()).add(t.name)
    return files


def check(targets):
    problems, checked = [], 0
    for path, users in sorted(files_of(targets).items()):
        if not path.is_file():
            continue
        checked += 1
        allowed = set()
        for u in users:
            allowed |= closure(targets, u)
        text = path.read_text(encoding="utf-8", errors="replace")
        for include in INCLUDE_RE.findall(text):
            target = resolve(include, path)
            if target is None:
                continue  # generated (protobuf) or a system header
            owned_by = owners(targets, target)
            if owned_by and not owned_by & allowed:
                problems.append(f"{path.relative_to(SOURCE_ROOT)}: includes \"{include}\" of "
                                f"{' or '.join(sorted(owned_by))}, which "
                                f"{' / '.join(sorted(users))} does not link")
    return checked, problems


def graph(targets):
    project = set(targets)
    for name in sorted(n for n, t in targets.items() if t.is_library):
        deps = sorted(d for d in targets[name].deps if d in project)
        print(f"{name} ({targets[name].folder}): {' '.join(deps) if deps else '-'}")


def main(argv):
    if len(argv) not in (2, 3) or argv[1].startswith("-") or \
            (len(argv) == 3 and argv[2] != "--graph"):
        print("usage: deps.py BUILD_DIR [--graph]", file=sys.stderr)
        return 2
    targets = load(Path(argv[1]).resolve())
    if len(argv) == 3:
        graph(targets)
        return 0
    checked, problems = check(targets)
    for p in problems:
        print(p)
    print(f"deps: {checked} files checked, {len(problems)} includes across a module boundary")
    return 1 if problems or not checked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
