#!/usr/bin/env python3
"""Runs clang-tidy with the checked-in .clang-tidy subset over the project's libraries.

GCC builds Switchboard; clang-tidy needs clang's view of each file. This script takes the include
paths, macros and standard CMake recorded for each translation unit (compile_commands.json, the
same selection of flags as thread_safety.py), writes them to a compilation database of clang
commands in a temp directory, and runs clang-tidy on every source file under TIDY_DIRS, in
parallel. Any finding fails (WarningsAsErrors in .clang-tidy).

The scope is the libraries that parse without gRPC and Boost.Beast (a few seconds a file); the
gRPC gateway, the wallboard and the tests would multiply the time of every CI run.

Usage: tidy.py BUILD_DIR [FILE...]   (FILEs: only those of the selection; SB_CHECK_JOBS: clang-tidy
  runs at once, default: cores)
Exit status: 0 clean; 1 findings, or no file selected; 2 usage error.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import thread_safety  # noqa: E402  (flag selection, database, parallel run)

SOURCE_ROOT = thread_safety.SOURCE_ROOT
TIDY_DIRS = ("common", "router/engine", "router/followup", "router/control", "router/kafka",
             "router/shard", "router/stats", "router/staffing", "state-store")


def usage_error(message):
    print(f"tidy.py: {message}", file=sys.stderr)
    sys.exit(2)


def selected(entries, build_dir):
    units = {}
    for entry in entries:
        directory = Path(entry["directory"])
        source = (directory / entry["file"]).resolve()
        if source in units or SOURCE_ROOT not in source.parents:
            continue
        relative = source.relative_to(SOURCE_ROOT).as_posix()
        if not relative.startswith(tuple(d + "/" for d in TIDY_DIRS)):
            continue
        if thread_safety.is_build_output(source, build_dir):
            continue
        flags = thread_safety.kept_flags(thread_safety.entry_args(entry))
        units[source] = {"directory": str(directory), "file": str(source),
                         "arguments": ["clang++", *flags, "-c", str(source)]}
    return [units[s] for s in sorted(units)]


def main(argv):
    if len(argv) < 2 or argv[1].startswith("-"):
        usage_error("usage: tidy.py BUILD_DIR [FILE...] (BUILD_DIR: with compile_commands.json)")
    build_dir = Path(argv[1]).resolve()
    entries = thread_safety.load_database(build_dir, usage_error)
    tidy = thread_safety.tool("CLANG_TIDY", "clang-tidy", "clang-tidy", usage_error)
    units = selected(entries, build_dir)
    if len(argv) > 2:
        wanted = {Path(f).resolve() for f in argv[2:]}
        units = [u for u in units if Path(u["file"]) in wanted]
    with tempfile.TemporaryDirectory(prefix="sb-tidy.") as tmp:
        Path(tmp, "compile_commands.json").write_text(json.dumps(units), encoding="utf-8")

        def run(unit):
            done = subprocess.run([tidy, "-p", tmp, "--quiet", unit["file"]],
                                  cwd=SOURCE_ROOT, capture_output=True, text=True)
            return unit["file"], done.returncode == 0, done.stdout + done.stderr

        failed = thread_safety.run_all(run, units, "clang-tidy")
    return 1 if failed or not units else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
