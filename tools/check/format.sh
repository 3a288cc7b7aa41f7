#!/usr/bin/env bash
# Every C++ file of the repository is formatted as .clang-format says (Google style, 100
# columns): clang-format --dry-run, which changes nothing and fails naming each line to fix.
# Fix them all with: tools/check/format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v clang-format >/dev/null || { echo "format.sh: clang-format not found (dev.sh installs it)" >&2; exit 2; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t listed < <(git ls-files --cached --others --exclude-standard -- '*.cc' '*.h')
else  # a source tarball: every file but the build trees'
  mapfile -t listed < <(find . -name 'build*' -prune -o \( -name '*.cc' -o -name '*.h' \) -print)
fi
files=()
for f in "${listed[@]}"; do [ -f "$f" ] && files+=("$f"); done
[ ${#files[@]} -gt 0 ] || { echo "format.sh: no C++ file found" >&2; exit 1; }
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
  echo "format: ${#files[@]} files formatted"
  exit 0
fi
clang-format --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files checked"
