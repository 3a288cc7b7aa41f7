#!/usr/bin/env python3
"""Proves the lock contracts written as Abseil thread-safety annotations.

GCC builds Switchboard, and GCC ignores ABSL_GUARDED_BY, ABSL_EXCLUSIVE_LOCKS_REQUIRED and the
rest: to GCC they are comments. Clang's -Wthread-safety reads them and reports every access to a
guarded field without its absl::Mutex held, every call made without a lock the callee requires,
every lock taken twice. This script runs that analysis (clang++ -fsyntax-only, nothing is built)
over each translation unit that uses absl::Mutex or ABSL_GUARDED_BY, itself or through a project
header, with the flags CMake recorded for it, and fails on any finding.

Usage: thread_safety.py BUILD_DIR      (SB_CHECK_JOBS: clang runs at once, default: cores)
  BUILD_DIR holds compile_commands.json (CMake writes it). The clang++ run is $CXX_CLANG, or
  clang++ on PATH. Generated headers (protobuf) must already exist in BUILD_DIR.
Exit status: 0 all passed; 1 a file failed, or no file was selected (a check that checks nothing
must not pass); 2 usage error (no BUILD_DIR, no compile_commands.json, no clang++).
"""

import concurrent.futures
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[2]
MARKERS = ("absl::Mutex", "ABSL_GUARDED_BY")
CLANG_FLAGS = ["-fsyntax-only", "-Wthread-safety", "-Werror=thread-safety",
               "-Wno-unknown-warning-option"]
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)
# Flags that are kept, with their argument when it is the next word. Everything else in the GCC
# command (warnings, optimization, sanitizers, -c, -o, dependency files) does not change what the
# analysis sees, and some of it clang does not accept.
SPLIT_FLAGS = ("-I", "-isystem", "-iquote", "-D", "-U")
JOINED_PREFIXES = ("-I", "-isystem", "-iquote", "-D", "-U", "-std=")


def usage_error(message):
    print(f"thread_safety.py: {message}", file=sys.stderr)
    sys.exit(2)


def is_build_output(path, build_dir):
    """True for files CMake or protoc generated: under a build tree or a .pb.cc/.pb.h."""
    if path.name.endswith((".pb.cc", ".pb.h")):
        return True
    if path == build_dir or build_dir in path.parents:
        return True
    for parent in path.parents:
        if parent == SOURCE_ROOT or SOURCE_ROOT not in parent.parents:
            break
        if (parent / "CMakeCache.txt").exists():
            return True
    return False


class IncludeScanner:
    """Whether a source mentions a marker, itself or through project headers it includes."""

    def __init__(self, build_dir):
        self.build_dir = build_dir
        self.direct = {}  # path -> (mentions a marker, resolved project includes)

    def _scan(self, path):
        if path not in self.direct:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            includes = []
            for name in INCLUDE_RE.findall(text):
                for base in (path.parent, SOURCE_ROOT):
                    candidate = (base / name).resolve()
                    if candidate.is_file() and SOURCE_ROOT in candidate.parents and \
                            not is_build_output(candidate, self.build_dir):
                        includes.append(candidate)
                        break
            self.direct[path] = (any(m in text for m in MARKERS), includes)
        return self.direct[path]

    def mentions(self, source):
        seen, stack = set(), [source]
        while stack:
            path = stack.pop()
            if path in seen:
                continue
            seen.add(path)
            marked, includes = self._scan(path)
            if marked:
                return True
            stack.extend(includes)
        return False


def entry_args(entry):
    if "arguments" in entry:
        return list(entry["arguments"])
    return shlex.split(entry["command"])


def kept_flags(args):
    """The include paths, macros and language standard of a compile command."""
    kept, i = [], 1  # args[0] is the compiler
    while i < len(args):
        arg = args[i]
        if arg in SPLIT_FLAGS and i + 1 < len(args):
            kept += [arg, args[i + 1]]
            i += 2
            continue
        if arg.startswith(JOINED_PREFIXES) and arg not in SPLIT_FLAGS:
            kept.append(arg)
        i += 1
    return kept


def select_units(entries, build_dir):
    """(source path, working directory, flags) of each TU to check, one per source file."""
    scanner, units = IncludeScanner(build_dir), {}
    for entry in entries:
        directory = Path(entry["directory"])
        source = (directory / entry["file"]).resolve()
        if source in units or SOURCE_ROOT not in source.parents:
            continue
        if is_build_output(source, build_dir) or not scanner.mentions(source):
            continue
        units[source] = (directory, kept_flags(entry_args(entry)))
    return sorted(units.items())


def check(clang, unit):
    source, (directory, flags) = unit
    command = [clang, *flags, *CLANG_FLAGS, str(source)]
    done = subprocess.run(command, cwd=directory, capture_output=True, text=True)
    return source, done.returncode == 0, done.stdout + done.stderr


def jobs():
    """How many clang processes at once: $SB_CHECK_JOBS, else one per core."""
    return int(os.environ.get("SB_CHECK_JOBS") or os.cpu_count() or 1)


def load_database(build_dir, fail):
    """The entries of BUILD_DIR/compile_commands.json; `fail(message)` when it cannot be read."""
    database = build_dir / "compile_commands.json"
    if not database.is_file():
        fail(f"{database} not found: configure the build with CMake first "
             "(CMAKE_EXPORT_COMPILE_COMMANDS=ON)")
    try:
        return json.loads(database.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        fail(f"{database}: cannot read it: {e}")


def tool(env, default, package, fail):
    """The program $env (else `default`), checked to run; `fail(message)` when it does not."""
    program = os.environ.get(env, default)
    try:
        subprocess.run([program, "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        fail(f"cannot run {program!r}: install {package} or set {env}")
    return program


def run_all(check_one, units, what):
    """Runs check_one(unit) -> (source, ok, output) over `units` in parallel, printing each
    result; returns how many failed."""
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs()) as pool:
        for source, ok, output in pool.map(check_one, units):
            shown = Path(source).relative_to(SOURCE_ROOT)
            if ok:
                print(f"ok {shown}", flush=True)
            else:
                failed += 1
                print(f"FAIL {shown}\n{output.rstrip()}", flush=True)
    print(f"{what}: {len(units)} files checked, {failed} failed")
    return failed


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        usage_error("usage: thread_safety.py BUILD_DIR (the directory with compile_commands.json)")
    build_dir = Path(argv[1]).resolve()
    entries = load_database(build_dir, usage_error)
    clang = tool("CXX_CLANG", "clang++", "clang", usage_error)
    units = select_units(entries, build_dir)
    failed = run_all(lambda u: check(clang, u), units, "thread-safety")
    if not units:
        print("thread-safety: no translation unit uses absl::Mutex or ABSL_GUARDED_BY: "
              "nothing was checked", file=sys.stderr)
    return 1 if failed or not units else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
